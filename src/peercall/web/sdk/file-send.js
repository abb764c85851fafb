/**
 * The sending half of a file transfer: chunks read from the Blob ~1 MiB at a time and
 * sent with backpressure — the sender stops while the channel holds more than
 * {@link HIGH_WATER} bytes and goes on at `bufferedamountlow` ({@link LOW_WATER}), so
 * the send queue is bounded and the file is never loaded whole. Each chunk read for the
 * first time is hashed; a resume re-sends some chunks without hashing them again.
 *
 * @module file-send
 */

import { HEADER_BYTES, encodeChunk } from './file-wire.js';

/** Pause sending above this many buffered bytes… */
export const HIGH_WATER = 8 * 1024 * 1024;
/** …and go on when the buffer drains to this (`bufferedAmountLowThreshold`). */
export const LOW_WATER = 2 * 1024 * 1024;
/** Chunk payload we send: one 64 KiB frame with its header (aiortc's largest message). */
export const SEND_CHUNK = 64 * 1024 - HEADER_BYTES;
/** Chunks read from the Blob at once (~1 MiB). */
const READ_CHUNKS = 16;

/**
 * @typedef {object} OutgoingFile the fields of a transfer the pump reads and advances
 * @property {number} n transfer number in binary frames
 * @property {number} chunk @property {number} chunks
 * @property {number} next next chunk to send (advanced)
 * @property {number} [hashedUpto] chunks hashed so far (advanced)
 * @property {Blob} [file]
 * @property {import('./file-assembly.js').Hasher} [hasher]
 * @property {{size: number, bytes: number}} info `bytes` sent so far (advanced)
 */

/**
 * Send the chunks from `t.next` on, as fast as the channel drains, while `live()`.
 * @param {OutgoingFile} t
 * @param {RTCDataChannel} channel
 * @param {() => boolean} live false once the transfer was paused, cancelled or superseded
 * @param {() => void} progress called after each batch
 */
export async function sendChunks(t, channel, live, progress) {
  const file = /** @type {Blob} */ (t.file);
  const hasher = /** @type {import('./file-assembly.js').Hasher} */ (t.hasher);
  t.hashedUpto ??= 0;
  while (live() && t.next < t.chunks) {
    if (channel.bufferedAmount > HIGH_WATER) {
      await drained(channel);
      continue;
    }
    const first = t.next;
    const last = Math.min(t.chunks, first + READ_CHUNKS);
    const bytes = new Uint8Array(await file.slice(first * t.chunk, Math.min(t.info.size, last * t.chunk)).arrayBuffer());
    if (!live()) return;
    let hashFrom = -1; // chunks read for the first time are hashed (a resume re-sends some)
    for (let index = first; index < last; index += 1) {
      const payload = bytes.subarray((index - first) * t.chunk, (index - first + 1) * t.chunk);
      if (index === t.hashedUpto) {
        if (hashFrom < 0) hashFrom = index;
        t.hashedUpto += 1;
      }
      channel.send(encodeChunk(t.n, index, payload));
      t.next = index + 1;
    }
    // Every chunk was copied into its frame: the batch buffer goes to the hasher.
    if (hashFrom >= 0) hasher.update(bytes.subarray((hashFrom - first) * t.chunk));
    t.info.bytes = Math.min(t.info.size, t.next * t.chunk);
    progress();
  }
}

/** @param {RTCDataChannel} channel @returns {Promise<void>} once the send buffer is low (or the channel closed) */
function drained(channel) {
  return new Promise((resolve) => {
    const done = () => {
      channel.removeEventListener('bufferedamountlow', done);
      channel.removeEventListener('close', done);
      resolve();
    };
    channel.addEventListener('bufferedamountlow', done);
    channel.addEventListener('close', done);
  });
}
