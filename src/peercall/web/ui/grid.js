/**
 * Group calls in the call page: one tile per remote member, 1 to 4 tiles, built only on the
 * public SDK. The first tile is the 1:1 layout's (app.js keeps it on the "main" person);
 * every other member gets a clone of it with its own video, name, mute badge, camera-off
 * avatar and host menu (remote-tile.js). The member speaking now is outlined.
 *
 * Tiles and streams are keyed by identity, not peer id: a member who rejoins (e.g. after a
 * server restart) keeps their tile and their stream under a new peer id.
 */

import { CallEvent } from '/sdk/peercall.js';
import { setupRemoteTile } from './remote-tile.js';
import { tileParts } from './view.js';

/**
 * @typedef {import('/sdk/peercall.js').Call} Call
 * @typedef {import('/sdk/peercall.js').Peer} Peer
 * @typedef {import('./view.js').View} View
 * @typedef {{parts: import('./view.js').TileParts, tile: ReturnType<typeof setupRemoteTile>}} ExtraTile
 */

/**
 * @param {Call} call
 * @param {View} view
 * @param {{main: () => Peer | null, play: (video: HTMLVideoElement) => void}} hooks
 *   `main`: the person on the first tile; `play`: start a tile's media (autoplay rules)
 */
export function setupGrid(call, view, { main, play }) {
  const template = view.remote.tile;
  /** @type {Map<string, ExtraTile>} by identity */
  const extra = new Map();
  /** @type {Map<string, MediaStream>} the latest remote stream, by identity */
  const streams = new Map();
  /** @type {string | null} */
  let speaking = null;

  const people = () => [...call.peers.values()].filter((peer) => peer.role !== 'recorder');

  /** @param {Peer} peer */
  const addTile = (peer) => {
    const node = /** @type {HTMLElement} */ (template.cloneNode(true));
    const parts = tileParts(node);
    parts.menu.hidden = true;
    parts.video.srcObject = null;
    view.grid.append(node);
    return { parts, tile: setupRemoteTile(call, view, parts) };
  };

  /** Make the tiles match the members: one per person besides the main one. */
  const sync = () => {
    const first = main();
    const others = people().filter((peer) => peer.identity !== first?.identity);
    const wanted = new Set(others.map((peer) => peer.identity));
    for (const [identity, { parts, tile }] of extra) {
      if (wanted.has(identity)) continue;
      tile.dispose();
      parts.video.srcObject = null;
      parts.tile.remove();
      extra.delete(identity);
    }
    for (const peer of others) {
      let entry = extra.get(peer.identity);
      if (!entry) extra.set(peer.identity, (entry = addTile(peer)));
      entry.tile.show(peer);
      const stream = streams.get(peer.identity) ?? null;
      if (entry.parts.video.srcObject !== stream) {
        entry.parts.video.srcObject = stream;
        if (stream) play(entry.parts.video);
      }
    }
    view.grid.dataset.tiles = String(Math.max(1, others.length + (first ? 1 : 0)));
    highlight();
  };

  const highlight = () => {
    const group = view.grid.children.length > 1;
    for (const node of /** @type {HTMLElement[]} */ ([...view.grid.children])) {
      node.classList.toggle('pc-speaking', group && speaking !== null && node.dataset.peerId === speaking);
    }
  };

  call.on(CallEvent.RemoteTrack, ({ peerId, stream }) => {
    const identity = call.peers.get(peerId)?.identity;
    if (identity === undefined) return;
    streams.set(identity, stream);
    if (identity !== main()?.identity) sync();
  });
  call.on(CallEvent.PeerLeft, ({ peer }) => {
    if (peer) streams.delete(peer.identity); // a rejoin brings a new stream
  });
  call.on(CallEvent.PeerMedia, () => highlight());
  call.on(CallEvent.ActiveSpeaker, ({ peerId }) => {
    speaking = peerId;
    highlight();
  });
  call.on(CallEvent.Ended, () => {
    speaking = null;
    streams.clear();
    sync();
  });

  return {
    sync,
    /** @param {Peer} peer @returns {MediaStream | null} the member's stream, when it arrived */
    streamOf: (peer) => streams.get(peer.identity) ?? null,
  };
}
