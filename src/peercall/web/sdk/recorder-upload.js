/**
 * Chunk uploader for recordings: sends MediaRecorder output to the server while the
 * recording runs, one chunk at a time, in order, each with its sequence number and
 * SHA-256. A chunk leaves the queue only when the server acknowledged it, so a dropped
 * network or a restarted server costs at most a retry: on failure the uploader asks
 * the server where it stands (`next_seq`) and goes on from there. The queue is bounded
 * (bytes): past the bound the recording fails instead of eating the tab's memory.
 *
 * @module recorder-upload
 */

import { ErrorCode, PeercallError } from './errors.js';

/**
 * @typedef {object} UploadTarget
 * @property {string} uploadUrl `PUT {uploadUrl}/{seq}`
 * @property {string} uploadKey bearer key for this track
 * @property {number} maxChunkBytes the server's chunk limit
 */

const RETRY_DELAYS_MS = [250, 500, 1000, 2000, 4000, 5000];
const REQUEST_TIMEOUT_MS = 30_000;

/** @param {ArrayBuffer} data @returns {Promise<string>} lowercase hex SHA-256 */
async function sha256Hex(data) {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', data));
  return Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('');
}

export class ChunkUploader {
  /** @type {{seq: number, data: ArrayBuffer}[]} */
  #queue = [];
  #queuedBytes = 0;
  #nextSeq = 0;
  #target;
  #maxQueueBytes;
  /** @type {Promise<void> | null} */
  #pump = null;
  /** @type {PeercallError | null} */
  #failure = null;
  #closed = false;
  /** Chunks the server acknowledged, and how many uploads were retried (for stats). */
  acked = 0;
  retries = 0;

  /**
   * @param {UploadTarget} target
   * @param {{maxQueueBytes?: number, fetch?: typeof fetch}} [options]
   */
  constructor(target, options = {}) {
    this.#target = target;
    this.#maxQueueBytes = options.maxQueueBytes ?? 256 * 1024 * 1024;
    this.fetch = options.fetch ?? ((input, init) => fetch(input, init));
  }

  /** @returns {number} how many chunks were produced (seq of the next one) */
  get produced() {
    return this.#nextSeq;
  }

  /** Queue a recorder blob (split to the server's chunk size). @param {Blob} blob */
  async push(blob) {
    if (this.#failure) throw this.#failure;
    if (this.#closed) return;
    const buffer = await blob.arrayBuffer();
    for (let at = 0; at < buffer.byteLength; at += this.#target.maxChunkBytes) {
      const data = buffer.slice(at, at + this.#target.maxChunkBytes);
      this.#queue.push({ seq: this.#nextSeq++, data });
      this.#queuedBytes += data.byteLength;
    }
    if (this.#queuedBytes > this.#maxQueueBytes) {
      this.#failure = new PeercallError(ErrorCode.ConnectionFailed, 'recording upload is too far behind; stopped', { fatal: true });
      throw this.#failure;
    }
    this.#pump ??= this.#run().finally(() => { this.#pump = null; });
  }

  /** Wait until every queued chunk is acknowledged. */
  async drain() {
    while (this.#queue.length) {
      if (this.#failure) throw this.#failure;
      this.#pump ??= this.#run().finally(() => { this.#pump = null; });
      await this.#pump;
    }
    if (this.#failure) throw this.#failure;
  }

  /** Stop retrying (the recording was abandoned). */
  close() {
    this.#closed = true;
  }

  #headers() {
    return { Authorization: `Bearer ${this.#target.uploadKey}` };
  }

  async #run() {
    let attempt = 0;
    while (this.#queue.length && !this.#closed) {
      const chunk = this.#queue[0];
      try {
        const response = await this.fetch(`${this.#target.uploadUrl}/${chunk.seq}`, {
          method: 'PUT',
          body: chunk.data,
          headers: { ...this.#headers(), 'X-Chunk-Sha256': await sha256Hex(chunk.data), 'Content-Type': 'application/octet-stream' },
          signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS), // a stalled request must not stall the queue
        });
        if (response.ok) {
          this.#drop(chunk.seq + 1);
          attempt = 0;
          continue;
        }
        const body = await response.json().catch(() => ({}));
        const code = body?.error?.code;
        if (code === 'chunk_out_of_order') {
          if ((await this.#resync()) < chunk.seq) {
            this.#failure = new PeercallError(ErrorCode.ConnectionFailed, 'the server lost acknowledged chunks', { fatal: true });
            return;
          }
          continue;
        }
        if (response.status < 500 && response.status !== 408 && response.status !== 429) {
          this.#failure = new PeercallError(code ?? ErrorCode.ConnectionFailed, body?.error?.message ?? `upload refused (${response.status})`, { fatal: true });
          return;
        }
      } catch {
        // network down or tab offline: fall through to the retry
      }
      this.retries += 1;
      await new Promise((r) => setTimeout(r, RETRY_DELAYS_MS[Math.min(attempt, RETRY_DELAYS_MS.length - 1)]));
      attempt += 1;
      await this.#resync().catch(() => {});
    }
  }

  /** Ask the server for `next_seq` and forget every chunk it already has. @returns {Promise<number>} */
  async #resync() {
    const response = await this.fetch(this.#target.uploadUrl, { headers: this.#headers(), signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
    if (!response.ok) throw new Error(`upload state ${response.status}`);
    const nextSeq = Number((await response.json()).next_seq);
    this.#drop(nextSeq);
    return nextSeq;
  }

  /** @param {number} nextSeq every chunk below this one is stored on the server */
  #drop(nextSeq) {
    while (this.#queue.length && this.#queue[0].seq < nextSeq) {
      const done = /** @type {{seq: number, data: ArrayBuffer}} */ (this.#queue.shift());
      this.#queuedBytes -= done.data.byteLength;
      this.acked += 1;
    }
  }
}
