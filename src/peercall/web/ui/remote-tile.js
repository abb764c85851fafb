/**
 * The remote participant's tile: name, a mute icon, their initials instead of a frozen
 * picture while their camera is off, and (for a host) the moderation menu. Built only on
 * the public SDK.
 */

import { CallEvent, ModerationAction } from '/sdk/peercall.js';
import { describeError, initials, requestSentText } from './messages.js';

/**
 * @typedef {import('/sdk/peercall.js').Call} Call
 * @typedef {import('/sdk/peercall.js').Peer} Peer
 * @typedef {import('/sdk/peercall.js').MediaState} MediaState
 * @typedef {import('./view.js').View} View
 */

/** Menu items shown for each state of the remote media (the rest are hidden). */
const RELEVANT = /** @type {Record<string, (m: MediaState) => boolean>} */ ({
  [ModerationAction.MuteAudio]: (m) => m.audio === 'on',
  [ModerationAction.AskUnmute]: (m) => m.audio === 'muted',
  [ModerationAction.DisableVideo]: (m) => m.video === 'on',
  [ModerationAction.AskVideo]: (m) => m.video === 'off' && !m.screen,
  [ModerationAction.StopScreen]: (m) => m.screen,
});

const ALL_ON = Object.freeze({ audio: 'on', video: 'on', screen: false });

/**
 * @param {Call} call
 * @param {View} view
 * @param {import('./view.js').TileParts} [remote] the tile (default: the first one)
 * @returns {{show: (peer: Peer | null) => void, dispose: () => void}} `show(null)` clears the tile (they left)
 */
export function setupRemoteTile(call, view, remote = view.remote) {
  const isHost = call.self.role === 'host';
  /** @type {Peer | null} */
  let current = null;
  const items = /** @type {HTMLButtonElement[]} */ ([...remote.menu.querySelectorAll('button')]);
  const removeItem = /** @type {HTMLButtonElement} */ (remote.menu.querySelector('[data-testid="host-remove"]'));
  const confirmItem = /** @type {HTMLButtonElement} */ (remote.menu.querySelector('[data-testid="host-remove-confirm"]'));

  /** @param {Peer | null} peer */
  const show = (peer) => {
    current = peer;
    const media = /** @type {MediaState} */ (peer?.media ?? ALL_ON);
    remote.bar.hidden = !peer;
    remote.name.textContent = peer?.name ?? '';
    remote.initials.textContent = peer ? initials(peer.name) : '';
    remote.avatar.hidden = !peer || media.video === 'on' || media.screen;
    remote.muted.hidden = !peer || media.audio === 'on';
    remote.tile.dataset.video = peer ? (media.screen ? 'screen' : media.video) : 'none';
    if (peer) remote.tile.dataset.peerId = peer.peerId;
    else delete remote.tile.dataset.peerId;
    if (remote === view.remote) view.app.dataset.remoteVideo = remote.tile.dataset.video;
    remote.menuButton.hidden = !peer || !isHost;
    for (const item of items) {
      const relevant = RELEVANT[item.dataset.action ?? ''];
      if (relevant) item.hidden = !relevant(media);
    }
    if (!peer) openMenu(false);
  };

  /** @param {boolean} open */
  const openMenu = (open) => {
    remote.menu.hidden = !open;
    remote.menuButton.setAttribute('aria-expanded', String(open));
    removeItem.hidden = false;
    confirmItem.hidden = true;
    if (open) items.find((item) => !item.hidden)?.focus({ preventScroll: true });
  };

  remote.menuButton.addEventListener('click', () => openMenu(remote.menu.hidden));
  remote.menu.addEventListener('keydown', (/** @type {KeyboardEvent} */ event) => {
    if (event.key !== 'Escape') return;
    openMenu(false);
    remote.menuButton.focus();
  });
  removeItem.addEventListener('click', () => {
    removeItem.hidden = true;
    confirmItem.hidden = false;
    confirmItem.focus();
  });
  remote.menu.addEventListener('click', (/** @type {MouseEvent} */ event) => {
    const item = /** @type {HTMLElement} */ (event.target).closest('button');
    const action = item?.dataset.action;
    if (!action || !current) return;
    openMenu(false);
    try {
      call.moderate(current.peerId, /** @type {any} */ (action));
    } catch (err) {
      view.showNotice(describeError(err));
      return;
    }
    if (action === ModerationAction.AskUnmute || action === ModerationAction.AskVideo) view.showNotice(requestSentText(action, current.name));
  });

  const offs = [
    call.on(CallEvent.PeerMedia, ({ peerId, peer }) => {
      if (current && peerId === current.peerId && peer) show(peer);
    }),
    call.on(CallEvent.Ended, () => show(null)),
  ];
  // One notice for a refused moderation, not one per tile.
  if (remote === view.remote) {
    call.on(CallEvent.Error, ({ error }) => {
      if (error.ref === 'moderate') view.showNotice(describeError(error));
    });
  }
  return { show, dispose: () => { for (const off of offs) off(); } };
}
