/**
 * The chat panel of the call page: a toggle button with an unread badge, the message list
 * with delivery ticks, a "typing…" line and the input. Built only on `call.chat`.
 */

import { ChatEvent, MAX_CHAT_TEXT } from '/sdk/peercall.js';
import { el } from './dom.js';

const STATUS_MARK = { queued: '🕓', sent: '✓', delivered: '✓✓' };

/**
 * @param {import('/sdk/peercall.js').Call} call
 * @param {HTMLElement} controls the control bar (the toggle button goes there)
 * @param {HTMLElement} host where the panel goes
 * @param {(identity: string) => string} nameOf display name of a member
 */
export function setupChatPanel(call, controls, host, nameOf) {
  const badge = el('span', { class: 'pc-unread', 'data-testid': 'chat-unread', hidden: '' });
  const button = el('button', {
    type: 'button', class: 'pc-btn pc-round', 'data-testid': 'chat-button', 'aria-label': 'Chat',
    'aria-expanded': 'false', title: 'Chat',
  }, [el('span', { 'aria-hidden': 'true' }, ['💬']), badge]);
  const list = el('ol', { class: 'pc-chat-list', 'data-testid': 'chat-list', 'aria-live': 'polite' });
  const typing = el('p', { class: 'pc-chat-typing', 'data-testid': 'chat-typing', hidden: '' });
  const input = /** @type {HTMLInputElement} */ (el('input', {
    type: 'text', class: 'pc-chat-input', 'data-testid': 'chat-input', maxlength: String(MAX_CHAT_TEXT),
    placeholder: 'Message', 'aria-label': 'Chat message',
  }));
  const send = el('button', { type: 'submit', class: 'pc-btn pc-btn-primary', 'data-testid': 'chat-send' }, ['Send']);
  const form = el('form', { class: 'pc-chat-form' }, [input, send]);
  const panel = el('section', { class: 'pc-chat', 'data-testid': 'chat-panel', 'aria-label': 'Chat', hidden: '' }, [list, typing, form]);
  controls.insertBefore(button, controls.lastElementChild);
  host.append(panel);

  let unread = 0;
  /** @type {Map<string, HTMLElement>} */
  const rows = new Map();
  const showUnread = () => {
    badge.textContent = String(unread);
    badge.hidden = unread === 0;
  };
  button.addEventListener('click', () => {
    panel.hidden = !panel.hidden;
    button.setAttribute('aria-expanded', String(!panel.hidden));
    if (!panel.hidden) {
      unread = 0;
      showUnread();
      input.focus();
    }
  });
  input.addEventListener('input', () => call.chat.typing(input.value !== ''));
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const text = input.value;
    if (text.trim() === '') return;
    try {
      call.chat.send(text);
      input.value = '';
    } catch (err) {
      console.warn(`[peercall] chat: ${/** @type {Error} */ (err).message}`);
    }
  });

  call.chat.on(ChatEvent.Message, ({ message }) => {
    const mark = el('span', { class: 'pc-chat-status', 'data-testid': 'chat-status' }, [message.mine ? STATUS_MARK[message.status] : '']);
    const row = el('li', {
      class: message.mine ? 'pc-chat-msg pc-chat-mine' : 'pc-chat-msg', 'data-testid': 'chat-message',
      'data-id': message.id, 'data-status': message.status,
    }, [
      el('span', { class: 'pc-chat-from' }, [message.mine ? 'You' : nameOf(message.from)]),
      el('span', { class: 'pc-chat-text', 'data-testid': 'chat-text' }, [message.text]),
      el('time', { class: 'pc-chat-time', datetime: new Date(message.ts).toISOString() }, [new Date(message.ts).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' })]),
      mark,
    ]);
    rows.set(message.id, row);
    list.append(row);
    row.scrollIntoView?.({ block: 'end' });
    if (!message.mine && panel.hidden) {
      unread += 1;
      showUnread();
    }
  });
  call.chat.on(ChatEvent.Delivered, ({ message }) => {
    const row = rows.get(message.id);
    if (!row) return;
    row.dataset.status = 'delivered';
    const mark = row.querySelector('[data-testid=chat-status]');
    if (mark) mark.textContent = STATUS_MARK.delivered;
  });
  call.chat.on(ChatEvent.Typing, ({ identity, typing: on }) => {
    typing.textContent = on ? `${nameOf(identity)} is typing…` : '';
    typing.hidden = !on;
  });
  // Queued messages go out when the connection comes back: refresh their marks then.
  const refresh = setInterval(() => {
    for (const message of call.chat.messages) {
      const row = rows.get(message.id);
      if (row && message.mine && row.dataset.status !== message.status && row.dataset.status !== 'delivered') {
        row.dataset.status = message.status;
        const mark = row.querySelector('[data-testid=chat-status]');
        if (mark) mark.textContent = STATUS_MARK[message.status];
      }
    }
  }, 1000);
  call.on('ended', () => clearInterval(refresh));
}
