/**
 * File sharing on the call page: a "send file" button (picker), drag-and-drop anywhere on
 * the call, and one row per transfer with a progress bar, accept/decline for offers,
 * cancel while it runs, and a download link once the SHA-256 is verified.
 * Built only on `call.files`.
 */

import { FileEvent } from '/sdk/peercall.js';
import { el, formatBytes } from './dom.js';

const STATE_TEXT = {
  offered: 'waiting', transferring: '', paused: 'paused (reconnecting)', verifying: 'verifying',
  complete: 'done ✓', failed: 'failed', cancelled: 'cancelled', declined: 'declined',
};

/**
 * @param {import('/sdk/peercall.js').Call} call
 * @param {HTMLElement} controls the control bar
 * @param {HTMLElement} host where the transfer list goes
 * @param {HTMLElement} dropZone element that accepts dropped files
 */
export function setupFilesPanel(call, controls, host, dropZone) {
  const picker = /** @type {HTMLInputElement} */ (el('input', { type: 'file', multiple: '', hidden: '', 'data-testid': 'file-input' }));
  const button = el('button', {
    type: 'button', class: 'pc-btn pc-round', 'data-testid': 'file-button', 'aria-label': 'Send a file', title: 'Send a file',
  }, [el('span', { 'aria-hidden': 'true' }, ['📎'])]);
  const list = el('ul', { class: 'pc-files', 'data-testid': 'file-list', 'aria-label': 'File transfers', hidden: '' });
  controls.insertBefore(button, controls.lastElementChild);
  host.append(picker, list);

  // In a group call a dropped file goes to every other person (one transfer each).
  const people = () => [...call.peers.values()].filter((peer) => peer.role !== 'recorder').map((peer) => peer.identity);
  const sendAll = (/** @type {Iterable<File>} */ files) => {
    for (const file of files) {
      const targets = people();
      for (const to of targets.length > 0 ? targets : [undefined]) {
        try {
          render(call.files.send(file, to === undefined ? {} : { to }));
        } catch (err) {
          showError(file.name, /** @type {Error} */ (err).message);
        }
      }
    }
  };
  button.addEventListener('click', () => picker.click());
  picker.addEventListener('change', () => {
    sendAll(picker.files ?? []);
    picker.value = '';
  });
  dropZone.addEventListener('dragover', (event) => {
    if (!event.dataTransfer?.types.includes('Files')) return;
    event.preventDefault();
    dropZone.dataset.dropping = 'true';
  });
  dropZone.addEventListener('dragleave', () => { delete dropZone.dataset.dropping; });
  dropZone.addEventListener('drop', (event) => {
    event.preventDefault();
    delete dropZone.dataset.dropping;
    sendAll(event.dataTransfer?.files ?? []);
  });

  /** @type {Map<string, HTMLElement>} */
  const rows = new Map();
  /** @param {string} name @param {string} message */
  function showError(name, message) {
    list.hidden = false;
    list.append(el('li', { class: 'pc-file pc-file-error', 'data-testid': 'file-error' }, [`${name}: ${message}`]));
  }

  /** @param {import('/sdk/peercall.js').TransferInfo} transfer */
  function render(transfer) {
    list.hidden = false;
    let row = rows.get(transfer.id);
    if (!row) {
      row = el('li', { class: 'pc-file', 'data-testid': 'file-row', 'data-id': transfer.id }, [
        el('span', { class: 'pc-file-name' }, [`${transfer.direction === 'out' ? '↑' : '↓'} ${transfer.name} (${formatBytes(transfer.size)})`]),
        el('progress', { max: String(Math.max(1, transfer.size)), value: '0', 'data-testid': 'file-progress' }),
        el('span', { class: 'pc-file-state', 'data-testid': 'file-state' }),
        el('span', { class: 'pc-file-actions' }),
      ]);
      rows.set(transfer.id, row);
      list.append(row);
    }
    row.dataset.state = transfer.state;
    const progress = /** @type {HTMLProgressElement} */ (row.querySelector('progress'));
    progress.value = transfer.direction === 'out' ? transfer.confirmed : transfer.bytes;
    const state = /** @type {HTMLElement} */ (row.querySelector('.pc-file-state'));
    state.textContent = transfer.state === 'transferring' ? `${Math.floor((100 * progress.value) / Math.max(1, transfer.size))} %` : STATE_TEXT[transfer.state];
    const actions = /** @type {HTMLElement} */ (row.querySelector('.pc-file-actions'));
    actions.replaceChildren(...actionsFor(transfer));
  }

  /** @param {import('/sdk/peercall.js').TransferInfo} transfer @returns {HTMLElement[]} */
  function actionsFor(transfer) {
    const action = (/** @type {string} */ label, /** @type {string} */ testId, /** @type {() => void} */ run) => {
      const b = el('button', { type: 'button', class: 'pc-btn pc-btn-small', 'data-testid': testId }, [label]);
      b.addEventListener('click', run);
      return b;
    };
    if (transfer.state === 'offered' && transfer.direction === 'in') {
      return [action('Accept', 'file-accept', () => call.files.accept(transfer.id)), action('Decline', 'file-decline', () => call.files.decline(transfer.id))];
    }
    if (['offered', 'transferring', 'paused', 'verifying'].includes(transfer.state)) return [action('Cancel', 'file-cancel', () => call.files.cancel(transfer.id))];
    if (transfer.state === 'complete' && transfer.direction === 'in') {
      const blob = call.files.get(transfer.id)?.blob;
      if (!blob) return [];
      const link = el('a', { href: URL.createObjectURL(blob), download: transfer.name, 'data-testid': 'file-download' }, ['Save']);
      return [link];
    }
    return [];
  }

  for (const name of [FileEvent.Offer, FileEvent.Progress, FileEvent.Complete, FileEvent.Failed, FileEvent.Cancelled, FileEvent.Declined]) {
    call.files.on(name, (/** @type {any} */ event) => {
      if (event.transfer) render(event.transfer);
      else if (event.error) showError('file', event.error.message);
    });
  }
}
