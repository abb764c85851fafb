/**
 * File sharing (`call.files`): peer to peer over the `peercall-file` data channel.
 *
 * The sender offers (name, size, type); the receiver accepts or declines. Accepted files
 * travel in chunks with backpressure: the sender reads ~1 MiB at a time and stops while
 * the channel holds more than {@link HIGH_WATER} bytes, until `bufferedamountlow` — the
 * send queue is bounded and the file is never loaded whole. The receiver collects chunks
 * as Blob parts and hashes them as they come; the sender's `end` carries the SHA-256 of the
 * whole file and the receiver announces the file only if both agree.
 *
 * Resume: the receiver confirms chunks (`ack`) as they arrive; after a reconnect (same or a
 * replaced connection) it asks for the rest with `accept {from}` = its next chunk, so
 * nothing is sent twice into the file. A chunk out of order, a wrong size or a hash
 * mismatch fails the transfer (both sides are told), never the call.
 *
 * @module file-transfer
 */

import { Emitter } from './emitter.js';
import { ErrorCode, PeercallError } from './errors.js';
import { Assembly, createHasher } from './file-assembly.js';
import { HIGH_WATER, LOW_WATER, SEND_CHUNK, sendChunks } from './file-send.js';
import { FileWireError, MAX_NAME, decodeChunk, parseControl } from './file-wire.js';
import { newId } from './reliable.js';

export { HIGH_WATER, LOW_WATER, SEND_CHUNK };
/** Incoming offers a member may have open at once (more are declined: `too_many`). */
const MAX_OPEN_OFFERS = 20;
const ACK_EVERY = 16;

/**
 * Names of the file events; subscribe with `call.files.on(FileEvent.X, listener)`.
 * @readonly
 */
export const FileEvent = Object.freeze({
  /** `{transfer, accept, decline}`: a member offers a file; call one of the two. */
  Offer: 'offer',
  /** `{transfer}`: bytes moved (`bytes`; sender: `confirmed` by the receiver), or paused/resumed. */
  Progress: 'progress',
  /** `{transfer, blob?}`: done and SHA-256 verified; the receiver gets the file as `blob`. */
  Complete: 'complete',
  /** `{transfer, error}`: the transfer failed (`transfer.error` says why); the call goes on. */
  Failed: 'failed',
  /** `{transfer, by}`: cancelled by `us` or by the `peer`; no partial file is kept. */
  Cancelled: 'cancelled',
  /** `{transfer}`: the receiver declined our offer (or it was too large for the room). */
  Declined: 'declined',
});

/**
 * @typedef {'offered' | 'transferring' | 'paused' | 'verifying' | 'complete' | 'failed' | 'cancelled' | 'declined'} TransferState
 * @typedef {object} TransferInfo
 * @property {string} id
 * @property {'out' | 'in'} direction
 * @property {string} identity the other member
 * @property {string} name @property {number} size @property {string} mime
 * @property {TransferState} state
 * @property {number} bytes sent / received so far
 * @property {number} confirmed bytes the receiver has confirmed
 * @property {string | null} sha256 once verified
 * @property {string | null} error why it failed or was declined
 * @property {number | null} startedAt @property {number | null} finishedAt ms (performance.now clock)
 */
/**
 * @typedef {object} Transfer
 * @property {TransferInfo} info
 * @property {number} n transfer number in binary frames
 * @property {number} chunk @property {number} chunks
 * @property {number} next next chunk to send / expected
 * @property {Blob} [file] @property {import('./file-assembly.js').Hasher} [hasher] @property {number} [hashedUpto] @property {string} [digest] @property {Promise<string>} [digestPromise] @property {number} [gen]
 * @property {Assembly} [assembly] @property {Blob} [blob]
 */

const FINAL = new Set(['complete', 'failed', 'cancelled', 'declined']);
const snapshot = (/** @type {Transfer} */ t) => ({ ...t.info });

/** @extends {Emitter<Record<string, any>>} */
export class FileTransfers extends Emitter {
  #hub;
  #maxBytes;
  /** @type {Map<string, Transfer>} */
  #transfers = new Map();

  /**
   * @param {import('./data-channels.js').DataHub} hub
   * @param {() => number} maxBytes the room's largest file
   */
  constructor(hub, maxBytes) {
    super();
    this.#hub = hub;
    this.#maxBytes = maxBytes;
    hub.register('file', {
      open: (identity, channel) => this.#opened(identity, channel),
      close: (identity) => this.#closed(identity),
      message: (identity, data) => this.#message(identity, data),
    });
  }

  /**
   * Offer a file (from a picker, drag-and-drop, or any Blob) to a member.
   * @param {Blob} file a File's `name` is used; a plain Blob is called "file"
   * @param {{to?: string, name?: string}} [options] `to`: identity (default: the only other member)
   * @returns {TransferInfo}
   * @throws {PeercallError} `invalid_argument`, `peer_not_found`, `message_too_large` (over the room's limit)
   */
  send(file, options = {}) {
    if (!(file instanceof Blob)) throw new PeercallError(ErrorCode.InvalidArgument, 'send() needs a File or Blob');
    const identity = options.to ?? this.#hub.identities()[0];
    if (!identity || !this.#hub.identities().includes(identity)) throw new PeercallError(ErrorCode.PeerNotFound, 'Nobody to send the file to');
    if (file.size > this.#maxBytes()) throw new PeercallError(ErrorCode.MessageTooLarge, `Files are limited to ${this.#maxBytes()} bytes in this room`);
    const name = String(options.name ?? /** @type {File} */ (file).name ?? 'file').slice(0, MAX_NAME) || 'file';
    const chunk = SEND_CHUNK;
    /** @type {Transfer} */
    const t = {
      info: { id: newId(), direction: 'out', identity, name, size: file.size, mime: file.type.slice(0, 255), state: 'offered', bytes: 0, confirmed: 0, sha256: null, error: null, startedAt: null, finishedAt: null },
      n: (Math.random() * 0xffffffff) >>> 0, chunk, chunks: Math.ceil(file.size / chunk), next: 0, file, hasher: createHasher(), hashedUpto: 0, gen: 0,
    };
    this.#transfers.set(t.info.id, t);
    this.#sendOffer(t);
    return snapshot(t);
  }

  /** Accept an offered file. @param {string} id */
  accept(id) {
    const t = this.#transfers.get(id);
    if (!t || t.info.direction !== 'in' || t.info.state !== 'offered') return;
    t.info.state = 'transferring';
    t.info.startedAt = performance.now();
    t.assembly = new Assembly();
    this.#control(t, { t: 'accept', id, from: 0 });
  }

  /** Decline an offered file. @param {string} id @param {string} [reason='declined'] */
  decline(id, reason = 'declined') {
    const t = this.#transfers.get(id);
    if (!t || t.info.direction !== 'in' || t.info.state !== 'offered') return;
    this.#finish(t, 'declined', reason);
    this.#control(t, { t: 'decline', id, reason });
  }

  /** Cancel a transfer in either direction; a partial file is dropped. @param {string} id */
  cancel(id) {
    const t = this.#transfers.get(id);
    if (!t || FINAL.has(t.info.state)) return;
    this.#finish(t, 'cancelled', 'cancelled');
    this.#control(t, { t: 'cancel', id, reason: 'cancelled' });
    this.emit(FileEvent.Cancelled, { transfer: snapshot(t), by: 'us' });
  }

  /** @param {string} id @returns {{transfer: TransferInfo, blob: Blob | null} | null} a received file's Blob once complete */
  get(id) {
    const t = this.#transfers.get(id);
    return t ? { transfer: snapshot(t), blob: t.blob ?? null } : null;
  }

  /** @returns {TransferInfo[]} */
  list() {
    return [...this.#transfers.values()].map(snapshot);
  }

  /** @param {Transfer} t */
  #sendOffer(t) {
    const { id, name, size, mime } = t.info;
    this.#control(t, { t: 'offer', id, n: t.n, name, size, mime, chunk: t.chunk });
  }

  /** @param {Transfer} t @param {Record<string, unknown>} frame */
  #control(t, frame) {
    try {
      this.#hub.channel('file', t.info.identity)?.send(JSON.stringify(frame));
    } catch {
      // closing channel: the state is re-sent when it opens again
    }
  }

  /** A fresh channel to a member: re-offer, ask for the rest of what we receive, repeat verdicts. @param {string} identity @param {RTCDataChannel} channel */
  #opened(identity, channel) {
    channel.bufferedAmountLowThreshold = LOW_WATER;
    for (const t of this.#transfers.values()) {
      if (t.info.identity !== identity) continue;
      const { direction, state, id } = t.info;
      if (direction === 'out' && state === 'offered') this.#sendOffer(t);
      if (direction === 'in' && (state === 'transferring' || state === 'paused')) {
        t.info.state = 'transferring';
        this.#control(t, { t: 'accept', id, from: t.next });
      }
    }
  }

  /** @param {string} identity */
  #closed(identity) {
    for (const t of this.#transfers.values()) {
      if (t.info.identity !== identity || (t.info.state !== 'transferring' && t.info.state !== 'verifying')) continue;
      if (t.info.direction === 'out') t.gen = (t.gen ?? 0) + 1; // stop the pump: the receiver says where to go on
      t.info.state = 'paused';
      this.emit(FileEvent.Progress, { transfer: snapshot(t) });
    }
  }

  /** @param {string} identity @param {string | ArrayBuffer} data */
  #message(identity, data) {
    try {
      if (typeof data === 'string') this.#onControl(identity, parseControl(data));
      else this.#onChunk(identity, data);
    } catch (err) {
      if (!(err instanceof FileWireError)) throw err;
      const t = err.id === undefined ? undefined : this.#transfers.get(err.id);
      if (t && t.info.identity === identity) this.#fail(t, 'bad_frame', err.message, true);
      else this.emit(FileEvent.Failed, { transfer: null, error: new PeercallError(ErrorCode.InvalidMessage, `Rejected a file frame: ${err.message}`, { ref: 'file' }) });
    }
  }

  /** @param {string} identity @param {import('./file-wire.js').FileFrame} frame */
  #onControl(identity, frame) {
    const t = this.#transfers.get(frame.id);
    if (frame.t === 'offer') return this.#onOffer(identity, frame, t);
    if (!t || t.info.identity !== identity) return; // unknown or not theirs: ignore
    const out = t.info.direction === 'out';
    switch (frame.t) {
      case 'accept':
        if (!out || FINAL.has(t.info.state)) return;
        if (frame.from > (t.hashedUpto ?? 0) || frame.from > t.chunks) throw new FileWireError(`cannot resume from chunk ${frame.from}`, t.info.id);
        t.next = frame.from;
        t.info.state = 'transferring';
        t.info.startedAt ??= performance.now();
        void this.#pump(t);
        return;
      case 'ack':
        if (!out || frame.next > t.chunks) return;
        t.info.confirmed = Math.min(t.info.size, frame.next * t.chunk);
        this.emit(FileEvent.Progress, { transfer: snapshot(t) });
        return;
      case 'done':
        if (!out || FINAL.has(t.info.state)) return;
        if (frame.ok) {
          t.info.sha256 = t.digest ?? null;
          t.info.confirmed = t.info.size;
          this.#finish(t, 'complete', null);
          this.emit(FileEvent.Complete, { transfer: snapshot(t) });
        } else this.#fail(t, frame.error ?? 'failed', `The receiver rejected the file: ${frame.error ?? 'failed'}`, false);
        return;
      case 'decline':
        if (!out || t.info.state !== 'offered') return;
        this.#finish(t, 'declined', frame.reason || 'declined');
        this.emit(FileEvent.Declined, { transfer: snapshot(t) });
        return;
      case 'cancel':
        if (FINAL.has(t.info.state)) return;
        this.#finish(t, 'cancelled', frame.reason || 'cancelled');
        this.emit(FileEvent.Cancelled, { transfer: snapshot(t), by: 'peer' });
        return;
      case 'end':
        if (!out) void this.#onEnd(t, frame.sha256);
    }
  }

  /** @param {string} identity @param {import('./file-wire.js').OfferFrame} frame @param {Transfer | undefined} known */
  #onOffer(identity, frame, known) {
    if (known) {
      // The same offer again after a reconnect: repeat our answer.
      if (known.info.direction !== 'in' || known.info.identity !== identity) throw new FileWireError('transfer id clash', undefined);
      const { state, id } = known.info;
      if (state === 'transferring' || state === 'paused') this.#control(known, { t: 'accept', id, from: known.next });
      else if (state === 'complete') this.#control(known, { t: 'done', id, ok: true });
      else if (state === 'declined') this.#control(known, { t: 'decline', id, reason: known.info.error ?? 'declined' });
      else if (state === 'cancelled' || state === 'failed') this.#control(known, { t: 'cancel', id, reason: known.info.error ?? state });
      return;
    }
    if (frame.size > 0 && frame.size / frame.chunk > 0xffffffff) throw new FileWireError('too many chunks', frame.id);
    /** @type {Transfer} */
    const t = {
      info: { id: frame.id, direction: 'in', identity, name: frame.name || 'file', size: frame.size, mime: frame.mime, state: 'offered', bytes: 0, confirmed: 0, sha256: null, error: null, startedAt: null, finishedAt: null },
      n: frame.n, chunk: frame.chunk, chunks: Math.ceil(frame.size / frame.chunk), next: 0,
    };
    const open = [...this.#transfers.values()].filter((x) => x.info.identity === identity && x.info.direction === 'in' && !FINAL.has(x.info.state)).length;
    this.#transfers.set(t.info.id, t);
    const refusal = frame.size > this.#maxBytes() ? 'too_large' : open >= MAX_OPEN_OFFERS ? 'too_many' : null;
    if (refusal) {
      this.#finish(t, 'declined', refusal);
      this.#control(t, { t: 'decline', id: t.info.id, reason: refusal });
      this.emit(FileEvent.Declined, { transfer: snapshot(t) });
      return;
    }
    this.emit(FileEvent.Offer, { transfer: snapshot(t), accept: () => this.accept(t.info.id), decline: () => this.decline(t.info.id) });
  }

  /** @param {string} identity @param {ArrayBuffer} data */
  #onChunk(identity, data) {
    const { n, index, payload } = decodeChunk(data);
    let t;
    for (const candidate of this.#transfers.values()) {
      if (candidate.n === n && candidate.info.direction === 'in' && candidate.info.identity === identity) t = candidate;
    }
    if (!t || t.info.state !== 'transferring' || !t.assembly) return; // e.g. still in flight when cancelled
    if (index < t.next) return; // sent again after a resume
    if (index > t.next) return this.#fail(t, 'out_of_order', `chunk ${index} arrived, chunk ${t.next} was expected`, true);
    const expected = index === t.chunks - 1 ? t.info.size - index * t.chunk : t.chunk;
    if (index >= t.chunks || payload.byteLength !== expected) return this.#fail(t, 'bad_chunk', `chunk ${index} has ${payload.byteLength} bytes`, true);
    t.assembly.add(payload);
    t.next += 1;
    t.info.bytes = t.assembly.bytes;
    t.info.confirmed = t.info.bytes;
    if (t.next % ACK_EVERY === 0 || t.next === t.chunks) {
      this.#control(t, { t: 'ack', id: t.info.id, next: t.next });
      this.emit(FileEvent.Progress, { transfer: snapshot(t) });
    }
  }

  /** @param {Transfer} t @param {string} digest */
  async #onEnd(t, digest) {
    const assembly = t.assembly;
    if (t.info.state !== 'transferring' || !assembly) return;
    if (t.next !== t.chunks) return this.#fail(t, 'incomplete', `the sender ended after ${t.next} of ${t.chunks} chunks`, true);
    t.info.state = 'verifying';
    let blob;
    let sha256;
    try {
      ({ blob, sha256 } = await assembly.finish(t.info.mime));
    } catch (err) {
      return this.#fail(t, 'hash_failed', /** @type {Error} */ (err).message, true);
    }
    if (t.info.state !== 'verifying') return; // cancelled meanwhile
    if (sha256 !== digest) return this.#fail(t, 'hash_mismatch', `SHA-256 mismatch: received ${sha256}, sender says ${digest}`, true);
    t.blob = blob;
    t.info.sha256 = sha256;
    this.#finish(t, 'complete', null);
    this.#control(t, { t: 'done', id: t.info.id, ok: true });
    this.emit(FileEvent.Complete, { transfer: snapshot(t), blob });
  }

  /** Send the chunks from `t.next` on, as fast as the channel drains. @param {Transfer} t */
  async #pump(t) {
    const gen = (t.gen = (t.gen ?? 0) + 1);
    const channel = this.#hub.channel('file', t.info.identity);
    const live = () => t.gen === gen && t.info.state === 'transferring' && channel?.readyState === 'open';
    if (!channel || !t.file || !t.hasher) return;
    try {
      await sendChunks(t, channel, live, () => this.emit(FileEvent.Progress, { transfer: snapshot(t) }));
      if (!live()) return;
      t.digestPromise ??= t.hasher.digest();
      t.digest = await t.digestPromise;
      if (!live()) return;
      channel.send(JSON.stringify({ t: 'end', id: t.info.id, sha256: t.digest }));
      t.info.state = 'verifying';
      this.emit(FileEvent.Progress, { transfer: snapshot(t) });
    } catch (err) {
      if (t.gen !== gen || channel.readyState !== 'open') return; // the connection went: resumed later
      this.#fail(t, 'read_failed', `Could not send the file: ${/** @type {Error} */ (err).message}`, true);
    }
  }

  /** @param {Transfer} t @param {string} reason @param {string} message @param {boolean} tell the other side */
  #fail(t, reason, message, tell) {
    if (FINAL.has(t.info.state)) return;
    this.#finish(t, 'failed', reason);
    if (tell) this.#control(t, t.info.direction === 'in' ? { t: 'done', id: t.info.id, ok: false, error: reason } : { t: 'cancel', id: t.info.id, reason });
    const error = new PeercallError(ErrorCode.TransferFailed, `${t.info.name}: ${message}`, { ref: reason });
    this.emit(FileEvent.Failed, { transfer: snapshot(t), error });
  }

  /** @param {Transfer} t @param {TransferState} state @param {string | null} error */
  #finish(t, state, error) {
    t.info.state = state;
    t.info.error = error;
    t.info.finishedAt = performance.now();
    t.gen = (t.gen ?? 0) + 1;
    if (state !== 'complete') {
      t.assembly?.discard();
      t.blob = undefined;
    }
    t.assembly = undefined;
    t.file = undefined;
    if (state !== 'complete' && !t.digestPromise) t.hasher?.close();
  }
}
