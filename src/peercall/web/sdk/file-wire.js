/**
 * Wire format of file transfers on the `peercall-file` data channel (docs/collab.md).
 *
 * Control frames are JSON text; file data travels in binary frames of an 8-byte header —
 * transfer number (u32, from the offer) and chunk index (u32), big-endian — then the chunk.
 * Every inbound frame is validated here; anything else is a {@link FileWireError}.
 *
 * @module file-wire
 */

import { isObject } from './reliable.js';

export const HEADER_BYTES = 8;
/** Largest chunk payload we send (a frame is header + chunk; aiortc accepts 64 KiB frames). */
export const MAX_CHUNK = 64 * 1024;
export const MIN_CHUNK = 1024;
/** Longest file name kept (metadata only: never used as a path). */
export const MAX_NAME = 255;

const ID = /^[A-Za-z0-9_-]{1,64}$/;
const HEX64 = /^[0-9a-f]{64}$/;
const u32 = (/** @type {unknown} */ v) => Number.isInteger(v) && /** @type {number} */ (v) >= 0 && /** @type {number} */ (v) <= 0xffffffff;
const count = (/** @type {unknown} */ v) => Number.isSafeInteger(v) && /** @type {number} */ (v) >= 0;

/** Bad input from the other side: the transfer it names fails, the call goes on. */
export class FileWireError extends Error {
  /** @param {string} message @param {string | undefined} [id] the transfer concerned, when known */
  constructor(message, id) {
    super(message);
    this.id = id;
  }
}

/**
 * @typedef {{t: 'offer', id: string, n: number, name: string, size: number, mime: string, chunk: number}} OfferFrame
 * @typedef {{t: 'accept', id: string, from: number}} AcceptFrame ask for chunks from `from` on (start or resume)
 * @typedef {{t: 'decline', id: string, reason: string}} DeclineFrame
 * @typedef {{t: 'cancel', id: string, reason: string}} CancelFrame
 * @typedef {{t: 'ack', id: string, next: number}} AckFrame the receiver holds every chunk before `next`
 * @typedef {{t: 'end', id: string, sha256: string}} EndFrame all chunks sent; SHA-256 of the whole file
 * @typedef {{t: 'done', id: string, ok: boolean, error?: string}} DoneFrame the receiver's verdict
 * @typedef {OfferFrame | AcceptFrame | DeclineFrame | CancelFrame | AckFrame | EndFrame | DoneFrame} FileFrame
 */

/**
 * @param {string} text
 * @returns {FileFrame}
 * @throws {FileWireError}
 */
export function parseControl(text) {
  if (text.length > 4096) throw new FileWireError('control frame too large');
  let frame;
  try {
    frame = JSON.parse(text);
  } catch {
    throw new FileWireError('malformed JSON');
  }
  if (!isObject(frame) || typeof frame.id !== 'string' || !ID.test(frame.id)) throw new FileWireError('bad frame or transfer id');
  const bad = (/** @type {string} */ what) => new FileWireError(`bad ${frame.t} frame: ${what}`, /** @type {string} */ (frame.id));
  switch (frame.t) {
    case 'offer':
      if (!u32(frame.n)) throw bad('n');
      if (typeof frame.name !== 'string' || frame.name.length > MAX_NAME) throw bad('name');
      if (!count(frame.size)) throw bad('size');
      if (typeof frame.mime !== 'string' || frame.mime.length > 255) throw bad('mime');
      if (!Number.isInteger(frame.chunk) || frame.chunk < MIN_CHUNK || frame.chunk > MAX_CHUNK) throw bad('chunk');
      return /** @type {OfferFrame} */ (frame);
    case 'accept':
      if (!count(frame.from)) throw bad('from');
      return /** @type {AcceptFrame} */ (frame);
    case 'ack':
      if (!count(frame.next)) throw bad('next');
      return /** @type {AckFrame} */ (frame);
    case 'end':
      if (typeof frame.sha256 !== 'string' || !HEX64.test(frame.sha256)) throw bad('sha256');
      return /** @type {EndFrame} */ (frame);
    case 'decline':
    case 'cancel':
      return /** @type {DeclineFrame | CancelFrame} */ ({ t: frame.t, id: frame.id, reason: String(frame.reason ?? '').slice(0, 200) });
    case 'done':
      return { t: 'done', id: frame.id, ok: frame.ok === true, error: typeof frame.error === 'string' ? frame.error.slice(0, 200) : undefined };
    default:
      throw new FileWireError(`unknown frame type ${JSON.stringify(frame.t)}`, frame.id);
  }
}

/**
 * @param {number} n @param {number} index @param {Uint8Array} payload
 * @returns {Uint8Array} the binary frame
 */
export function encodeChunk(n, index, payload) {
  const frame = new Uint8Array(HEADER_BYTES + payload.byteLength);
  const view = new DataView(frame.buffer);
  view.setUint32(0, n);
  view.setUint32(4, index);
  frame.set(payload, HEADER_BYTES);
  return frame;
}

/**
 * @param {ArrayBuffer} data
 * @returns {{n: number, index: number, payload: Uint8Array}}
 * @throws {FileWireError}
 */
export function decodeChunk(data) {
  if (data.byteLength <= HEADER_BYTES || data.byteLength > HEADER_BYTES + MAX_CHUNK) throw new FileWireError('bad chunk frame size');
  const view = new DataView(data);
  return { n: view.getUint32(0), index: view.getUint32(4), payload: new Uint8Array(data, HEADER_BYTES) };
}

/** @param {Uint8Array} bytes @returns {string} */
export function toHex(bytes) {
  let out = '';
  for (const byte of bytes) out += byte.toString(16).padStart(2, '0');
  return out;
}
