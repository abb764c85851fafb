/**
 * In-call collaboration of a {@link Call}: chat, file sharing, whiteboard and app messages,
 * all peer to peer over the pre-negotiated data channels (data-channels.js).
 *
 * The Call owns one Collab and tells it about connections (`attach` when a PeerLink is
 * built — also for a replacement link —, `rename` when a member comes back under a new peer
 * id, `detach` when a member leaves). Everything else lives in the service modules.
 *
 * @module collab
 */

import { AppMessages } from './app-messages.js';
import { Chat } from './chat.js';
import { DataHub } from './data-channels.js';
import { FileTransfers } from './file-transfer.js';
import { Whiteboard } from './whiteboard.js';

/**
 * Room settings that shape collaboration, from the server's `joined` frame (`collab`).
 * @typedef {object} CollabSettings
 * @property {boolean} chatArchive the room keeps a chat transcript on the server
 * @property {number} maxFileBytes largest file that may be sent or accepted
 */

/** Default largest file when the room does not say (2 GiB). */
export const DEFAULT_MAX_FILE_BYTES = 2 * 1024 ** 3;

/**
 * @param {Record<string, any>} joined the server's `joined`/`resumed` frame
 * @returns {CollabSettings}
 */
export function collabSettings(joined) {
  const collab = joined.collab && typeof joined.collab === 'object' ? joined.collab : {};
  const max = Number(collab.max_file_bytes);
  return {
    chatArchive: collab.chat_archive === true,
    maxFileBytes: Number.isSafeInteger(max) && max > 0 ? max : DEFAULT_MAX_FILE_BYTES,
  };
}

/**
 * @typedef {object} CollabOptions
 * @property {() => {identity: string}} self ourselves (identity is stable across rejoins)
 * @property {() => CollabSettings} settings the current room settings
 * @property {(frame: Record<string, unknown>) => void} signal send a signaling frame
 * @property {(error: import('./errors.js').PeercallError) => void} error report a non-fatal error
 */

/** Archive copies sent again after a reconnect (the server stores each message id once). */
const ARCHIVE_RESEND = 50;
const ARCHIVE_RESEND_MS = 120_000;

export class Collab {
  /** @type {{type: string, id: string, ts: number, text: string}[]} recent archive copies */
  #recentArchive = [];
  #signal;

  /** @param {CollabOptions} options */
  constructor({ self, settings, signal, error }) {
    this.#signal = signal;
    this.hub = new DataHub();
    this.chat = new Chat({
      hub: this.hub,
      selfIdentity: () => self().identity,
      archive: (message) => {
        if (!settings().chatArchive) return;
        const frame = { type: 'chat-archive', id: message.id, ts: message.ts, text: message.text };
        this.#recentArchive.push(frame);
        if (this.#recentArchive.length > ARCHIVE_RESEND) this.#recentArchive.shift();
        signal(frame);
      },
    });
    this.app = new AppMessages(this.hub, error);
    this.files = new FileTransfers(this.hub, () => settings().maxFileBytes);
    this.whiteboard = new Whiteboard(this.hub, () => self().identity);
  }

  /**
   * A (new) connection to a member.
   * @param {{identity: string, peerId: string}} peer
   * @param {{channels: import('./data-channels.js').ChannelSet}} link
   */
  attach(peer, link) {
    this.hub.attach(peer.identity, peer.peerId, link.channels);
  }

  /** @param {{identity: string, peerId: string}} peer its new peer id */
  rename(peer) {
    this.hub.rename(peer.identity, peer.peerId);
  }

  /** @param {{identity: string} | undefined} peer */
  detach(peer) {
    if (peer) this.hub.detach(peer.identity);
  }

  /**
   * Signaling is back on a new socket: archive copies sent just before may have died
   * with the old one, so the recent ones go again (duplicates are ignored by the server).
   */
  reconnected() {
    const since = Date.now() - ARCHIVE_RESEND_MS;
    for (const frame of this.#recentArchive) if (frame.ts >= since) this.#signal(frame);
  }

  close() {
    this.chat.close();
  }
}
