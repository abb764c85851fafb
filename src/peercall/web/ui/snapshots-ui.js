/**
 * Snapshots in the call page (video-KYC), built only on the public SDK:
 *
 * - host: two items in the participant menu — "Take a photo" (the received video at its
 *   full resolution) and "Ask for a sharp photo" (the participant's device captures its own
 *   camera at its best resolution) — and a strip of thumbnails of the photos taken;
 * - participant: a notice while the host's photo is being taken and once it was taken.
 */

import { CallEvent } from '/sdk/peercall.js';
import { t } from './i18n.js';
import { describeError } from './messages.js';

/**
 * @typedef {import('/sdk/peercall.js').Call} Call
 * @typedef {import('/sdk/peercall.js').Snapshot} Snapshot
 * @typedef {import('./view.js').View} View
 */

export const SNAPSHOT_TEXT = Object.freeze({
  takePhoto: t('photoTake'),
  askPhoto: t('photoAsk'),
  list: t('photoList'),
  taking: t('photoTaking'),
  asking: (/** @type {string} */ name) => t('photoAsking', { name: name || t('otherPersonLower') }),
  saved: (/** @type {Snapshot} */ s) => t('photoSaved', { width: String(s.width), height: String(s.height) }),
  failed: (/** @type {string} */ reason) => t('photoFailed', { reason: reason ? `: ${reason}` : '' }),
  requested: (/** @type {string} */ name) => t('photoRequested', { name: name || t('theHost') }),
  tookPhoto: (/** @type {string} */ name) => t('photoTook', { name: name || t('theHost') }),
});

/**
 * @param {Call} call
 * @param {View} view
 */
export function setupSnapshots(call, view) {
  const doc = view.app.ownerDocument;
  const q = (/** @type {string} */ id) => /** @type {HTMLElement} */ (doc.querySelector(`[data-testid="${id}"]`));
  const isHost = call.self.role === 'host';
  const take = /** @type {HTMLButtonElement} */ (q('host-snapshot'));
  const ask = /** @type {HTMLButtonElement} */ (q('host-snapshot-request'));
  const list = q('snapshot-list');
  take.textContent = SNAPSHOT_TEXT.takePhoto;
  ask.textContent = SNAPSHOT_TEXT.askPhoto;
  list.setAttribute('aria-label', SNAPSHOT_TEXT.list);
  take.hidden = ask.hidden = !isHost;
  /** @type {string[]} object URLs to release when the call ends */
  const urls = [];

  // The other person (not the server's recorder, which has no camera).
  const remotePeer = () => [...call.peers.values()].find((peer) => peer.role !== 'recorder') ?? null;

  /** @param {'take' | 'ask'} what @param {import('/sdk/peercall.js').Peer} peer */
  const capture = async (what, peer) => {
    view.showNotice(what === 'take' ? SNAPSHOT_TEXT.taking : SNAPSHOT_TEXT.asking(peer.name));
    try {
      const snapshot = what === 'take'
        ? await call.snapshots.captureRemote(peer.peerId)
        : await call.snapshots.requestFromPeer(peer.peerId);
      view.showNotice(SNAPSHOT_TEXT.saved(snapshot));
    } catch (err) {
      const error = /** @type {any} */ (err);
      view.showNotice(what === 'ask' && error?.code === 'snapshot_failed' ? SNAPSHOT_TEXT.failed('') : describeError(err));
    }
  };
  // One listener for the menus of every tile (a group call clones the first tile's menu):
  // the photo is of the member whose tile the menu belongs to.
  view.grid.addEventListener('click', (/** @type {MouseEvent} */ event) => {
    const item = /** @type {HTMLElement} */ (event.target).closest('[data-testid="host-snapshot"], [data-testid="host-snapshot-request"]');
    if (!item) return;
    const tile = /** @type {HTMLElement | null} */ (item.closest('[data-testid="remote-tile"]'));
    const menu = tile?.querySelector('[data-testid="host-menu"]');
    if (menu) /** @type {HTMLElement} */ (menu).hidden = true;
    tile?.querySelector('[data-testid="host-menu-button"]')?.setAttribute('aria-expanded', 'false');
    const peer = (tile?.dataset.peerId && call.peers.get(tile.dataset.peerId)) || remotePeer();
    if (peer) void capture(item.dataset.testid === 'host-snapshot' ? 'take' : 'ask', peer);
  });

  call.on(CallEvent.SnapshotRequested, ({ request }) => view.showNotice(SNAPSHOT_TEXT.requested(request.by.name)));
  call.on(CallEvent.SnapshotTaken, ({ snapshot }) => {
    if (isHost) {
      void addThumbnail(snapshot);
    } else if (snapshot.subject === call.self.peerId && snapshot.takenBy !== call.self.identity) {
      // Of us, by someone else: from the video they receive, or from our camera at their request.
      const taker = [...call.peers.values()].find((peer) => peer.identity === snapshot.takenBy);
      view.showNotice(SNAPSHOT_TEXT.tookPhoto(taker?.name ?? ''));
    }
  });
  call.on(CallEvent.Ended, () => {
    for (const url of urls.splice(0)) URL.revokeObjectURL(url);
  });

  /** @param {Snapshot} snapshot */
  async function addThumbnail(snapshot) {
    let blob;
    try {
      blob = await call.snapshots.fetchImage(snapshot.snapshotId);
    } catch (err) {
      view.showNotice(describeError(err));
      return;
    }
    const url = URL.createObjectURL(blob);
    urls.push(url);
    const link = doc.createElement('a');
    link.href = url;
    link.target = '_blank';
    link.rel = 'noopener';
    link.dataset.testid = 'snapshot-thumb';
    link.dataset.snapshotId = snapshot.snapshotId;
    link.title = `${snapshot.width}×${snapshot.height} · ${snapshot.method} · sha256 ${snapshot.sha256.slice(0, 12)}…`;
    const img = doc.createElement('img');
    img.src = url;
    img.alt = t('photoAlt', { n: String(list.children.length + 1), width: String(snapshot.width), height: String(snapshot.height) });
    link.append(img);
    list.append(link);
    list.hidden = false;
  }
}
