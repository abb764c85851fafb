/**
 * Both ends of a file's bytes: the receiver's {@link Assembly} collects chunks as Blob
 * parts (folded into Blobs every few MiB, so a large file is never one JS buffer or string
 * and the browser may keep it on disk) and hashes them incrementally; the sender hashes
 * what it reads the same way. SHA-256 is @noble/hashes (served by peercall at
 * `/vendor/noble-hashes/`): WebCrypto has no incremental digest.
 *
 * @module file-assembly
 */

import { sha256 } from '../vendor/noble-hashes/sha2.js';
import { toHex } from './file-wire.js';

/** Parts folded into one Blob at a time (64 × 64 KiB = 4 MiB). */
const FOLD_PARTS = 64;

/** @returns {{update: (data: Uint8Array) => unknown, digest: () => Uint8Array}} an incremental SHA-256 */
export const newHasher = () => sha256.create();

export class Assembly {
  /** @type {Blob[]} */
  #blobs = [];
  /** @type {Uint8Array[]} */
  #parts = [];
  #hasher = newHasher();
  bytes = 0;

  /** @param {Uint8Array} payload */
  add(payload) {
    this.#hasher.update(payload);
    this.#parts.push(payload);
    this.bytes += payload.byteLength;
    if (this.#parts.length >= FOLD_PARTS) this.#fold();
  }

  /** @param {string} mime @returns {{blob: Blob, sha256: string}} */
  finish(mime) {
    this.#fold();
    const blob = new Blob(this.#blobs, { type: mime });
    this.#blobs = [];
    return { blob, sha256: toHex(this.#hasher.digest()) };
  }

  /** Drop everything received (cancelled or failed: no partial file stays around). */
  discard() {
    this.#blobs = [];
    this.#parts = [];
  }

  #fold() {
    if (this.#parts.length === 0) return;
    this.#blobs.push(new Blob(this.#parts));
    this.#parts = [];
  }
}
