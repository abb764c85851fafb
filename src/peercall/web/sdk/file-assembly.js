/**
 * Both ends of a file's bytes: the receiver's {@link Assembly} collects chunks as Blob
 * parts (folded into Blobs every few MiB, so a large file is never one JS buffer or string
 * and the browser may keep it on disk), and both sides hash with an incremental SHA-256
 * ({@link createHasher}) — @noble/hashes, served by peercall at `/vendor/noble-hashes/`
 * (WebCrypto has no incremental digest).
 *
 * Hashing runs in a worker when the SDK is loaded from the page's own origin (module
 * workers must be same-origin), so the page keeps moving bytes while it hashes; bytes the
 * caller is done with are *transferred* to it, not copied. Otherwise it runs inline.
 *
 * @module file-assembly
 */

import { sha256 } from '../vendor/noble-hashes/sha2.js';
import { toHex } from './file-wire.js';

/** Parts folded into one Blob at a time (64 × 64 KiB = 4 MiB). */
const FOLD_PARTS = 64;

/**
 * @typedef {object} Hasher
 * @property {(bytes: Uint8Array) => void} update hash these bytes next; the caller gives up
 *   `bytes.buffer` (it may be transferred to the worker and detached)
 * @property {() => Promise<string>} digest the hex SHA-256 of everything so far (once)
 * @property {() => void} close drop it without a digest
 */

/** @returns {Hasher} */
export function createHasher() {
  let worker = null;
  try {
    worker = new Worker(new URL('./sha256-worker.js', import.meta.url), { type: 'module' });
  } catch {
    worker = null; // another origin, or a CSP without workers: hash inline
  }
  if (!worker) return inlineHasher();
  const w = worker;
  /** @type {string | null} why the worker died (it can fail to load after construction) */
  let failure = null;
  /** @type {((error: Error) => void) | null} */
  let rejectDigest = null;
  w.onerror = (event) => {
    failure = `hash worker failed: ${event.message || 'could not load'}`;
    w.terminate();
    rejectDigest?.(new Error(failure));
  };
  return {
    update: (bytes) => {
      if (!failure) w.postMessage({ op: 'update', buf: bytes.buffer, offset: bytes.byteOffset, length: bytes.byteLength }, [bytes.buffer]);
    },
    digest: () => new Promise((resolve, reject) => {
      if (failure) return reject(new Error(failure));
      rejectDigest = reject;
      w.onmessage = ({ data }) => { w.terminate(); resolve(data.hex); };
      w.postMessage({ op: 'digest' });
    }),
    close: () => w.terminate(),
  };
}

/** @returns {Hasher} */
function inlineHasher() {
  const hash = sha256.create();
  return {
    update: (bytes) => { hash.update(bytes); },
    digest: async () => toHex(hash.digest()),
    close: () => {},
  };
}

export class Assembly {
  /** @type {Blob[]} */
  #blobs = [];
  /** @type {Uint8Array[]} */
  #parts = [];
  #hasher = createHasher();
  bytes = 0;

  /** @param {Uint8Array} payload a view into a message buffer nobody else uses */
  add(payload) {
    this.#parts.push(payload);
    this.bytes += payload.byteLength;
    if (this.#parts.length >= FOLD_PARTS) this.#fold();
  }

  /** @param {string} mime @returns {Promise<{blob: Blob, sha256: string}>} */
  async finish(mime) {
    this.#fold();
    const blob = new Blob(this.#blobs, { type: mime });
    this.#blobs = [];
    return { blob, sha256: await this.#hasher.digest() };
  }

  /** Drop everything received (cancelled or failed: no partial file stays around). */
  discard() {
    this.#blobs = [];
    this.#parts = [];
    this.#hasher.close();
  }

  #fold() {
    if (this.#parts.length === 0) return;
    this.#blobs.push(new Blob(this.#parts)); // copies the bytes: the buffers can go to the hasher
    for (const part of this.#parts) this.#hasher.update(part);
    this.#parts = [];
  }
}
