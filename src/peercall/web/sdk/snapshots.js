/**
 * Snapshots from live video (video-KYC): `call.snapshots`.
 *
 * - `captureLocal()`: our own camera, as a still at the track's resolution.
 * - `captureRemote(peerId)`: the video we receive from a peer, at its decoded resolution
 *   (not the size of the element showing it). Hosts only (the server enforces it).
 * - `requestFromPeer(peerId)`: hosts ask the peer's SDK to capture from its *own* camera
 *   at the best resolution the device offers, so compression in the call cannot blur an
 *   ID card. The peer's SDK does it by itself, shows the `snapshotRequested` event, and
 *   both sides get `snapshotTaken`.
 *
 * Every capture is uploaded at once (`POST /api/snapshots` with the join token) and the
 * server announces it to the room as `snapshotTaken`; the server decides who took it and
 * writes the audit entry.
 *
 * Effects hook: background effects and masks must not hide a document. A video-effects
 * module registers itself with {@link Snapshots#registerEffects}; before capturing our own
 * camera the SDK calls every hook's `suspend()` (which may return the raw camera track to
 * capture from instead of the processed one) and `resume()` afterwards, even on failure.
 *
 * @module snapshots
 */

import { ErrorCode, PeercallError } from './errors.js';
import { CallEvent } from './events.js';
import { captureBest, captureFrame } from './snapshot-capture.js';

/**
 * @typedef {import('./snapshot-capture.js').EncodeOptions} EncodeOptions
 * @typedef {import('./snapshot-capture.js').CaptureMethod} CaptureMethod
 *
 * A stored snapshot, as announced by the server (`snapshotTaken`) and returned by captures.
 * @typedef {object} Snapshot
 * @property {string} snapshotId
 * @property {string | null} requestId set when it answers a host's request
 * @property {string} takenBy identity who took it (the host who asked, or the uploader)
 * @property {string} capturedBy peer id whose device produced the image
 * @property {string} subject peer id shown in the image
 * @property {string} subjectIdentity identity shown in the image
 * @property {'local' | 'remote' | 'request'} source
 * @property {CaptureMethod} method
 * @property {number} width
 * @property {number} height
 * @property {string} sha256 hash of the stored bytes (the audit trail has it too)
 * @property {number} at server time (Unix seconds)
 *
 * What a host's request looks like on the participant's side (`snapshotRequested`).
 * @typedef {object} SnapshotRequest
 * @property {string} requestId
 * @property {string} from the host's peer id
 * @property {{peerId: string, identity: string, name: string}} by
 *
 * An effects module's hook (see the module doc).
 * @typedef {object} CaptureEffectsHook
 * @property {() => (MediaStreamTrack | null | void | Promise<MediaStreamTrack | null | void>)} suspend
 *   stop drawing effects; may return the raw camera track to capture from
 * @property {() => (void | Promise<void>)} resume put the effects back
 *
 * @typedef {object} SnapshotsInit
 * @property {string} httpBase the server's http(s) origin
 * @property {string} token our join token (uploads are authorised by it)
 * @property {() => MediaStream | null} localStream
 * @property {(peerId: string) => MediaStreamTrack | null} remoteVideo the video we receive from a peer
 * @property {(frame: Record<string, any>) => void} send a signaling frame
 * @property {(event: string, payload: any) => void} emit a Call event
 * @property {(event: string, listener: (payload: any) => void) => () => void} on a Call event
 */

const REQUEST_TIMEOUT_MS = 30_000;

/** A request id: random, URL-safe, accepted by the server (8–64 of [A-Za-z0-9_-]). */
function newRequestId() {
  const bytes = crypto.getRandomValues(new Uint8Array(12));
  return `req_${Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')}`;
}

/** @param {Record<string, any>} frame @returns {Readonly<Snapshot>} */
export function toSnapshot(frame) {
  return Object.freeze({
    snapshotId: String(frame.snapshot_id ?? frame.id ?? ''),
    requestId: typeof frame.request_id === 'string' ? frame.request_id : null,
    takenBy: String(frame.taken_by ?? ''),
    capturedBy: String(frame.captured_by ?? ''),
    subject: String(frame.subject ?? ''),
    subjectIdentity: String(frame.subject_identity ?? ''),
    source: frame.source,
    method: frame.method,
    width: Number(frame.width),
    height: Number(frame.height),
    sha256: String(frame.sha256 ?? ''),
    at: Number(frame.at ?? frame.created_at ?? 0),
  });
}

export class Snapshots {
  #init;
  /** @type {Set<CaptureEffectsHook>} */
  #hooks = new Set();
  /** @type {Map<string, {resolve: (s: Readonly<Snapshot>) => void, reject: (e: PeercallError) => void, acked: boolean, timer: any}>} */
  #pending = new Map();
  /** @type {Map<string, Readonly<Snapshot>>} snapshots announced in this call, by id */
  #taken = new Map();

  /** @param {SnapshotsInit} init */
  constructor(init) {
    this.#init = init;
    // A refused request comes back as an `error` frame about `snapshot-request`: it is the
    // oldest request the server has not acknowledged yet (frames are handled in order).
    init.on(CallEvent.Error, ({ error }) => {
      if (error?.ref !== 'snapshot-request') return;
      const [id] = [...this.#pending].find(([, p]) => !p.acked) ?? [];
      if (id) this.#settle(id, null, error);
    });
    init.on(CallEvent.Ended, () => {
      for (const id of [...this.#pending.keys()]) {
        this.#settle(id, null, new PeercallError(ErrorCode.ConnectionLost, 'The call ended before the snapshot was taken.'));
      }
    });
  }

  /** @returns {Readonly<Snapshot>[]} the snapshots announced in this call, oldest first */
  get list() {
    return [...this.#taken.values()];
  }

  /**
   * Register a video-effects module (background blur, masks): suspended for every capture
   * of our own camera. @param {CaptureEffectsHook} hook @returns {() => void} unregister
   */
  registerEffects(hook) {
    if (!hook || typeof hook.suspend !== 'function' || typeof hook.resume !== 'function') {
      throw new PeercallError(ErrorCode.InvalidArgument, 'An effects hook needs suspend() and resume()');
    }
    this.#hooks.add(hook);
    return () => this.#hooks.delete(hook);
  }

  /**
   * Capture our own camera at its current resolution and store it.
   * @param {EncodeOptions} [options]
   * @returns {Promise<Readonly<Snapshot>>}
   */
  async captureLocal(options = {}) {
    const image = await this.#withEffectsSuspended((track) => captureFrame(track, options));
    return this.#upload(image, {});
  }

  /**
   * Capture the video we receive from a peer at its full decoded resolution and store it.
   * Hosts only: the server refuses others with `forbidden`.
   * @param {string} peerId
   * @param {EncodeOptions} [options]
   * @returns {Promise<Readonly<Snapshot>>}
   */
  async captureRemote(peerId, options = {}) {
    const track = this.#init.remoteVideo(peerId);
    if (!track) throw new PeercallError(ErrorCode.PeerNotFound, `No video from peer ${peerId}`);
    const image = await captureFrame(track, options);
    return this.#upload(image, { subject: peerId });
  }

  /**
   * Host: ask a peer's device for a high-resolution snapshot of its own camera. Resolves
   * with the stored snapshot (also announced as `snapshotTaken` on both sides).
   * @param {string} peerId
   * @param {{timeoutMs?: number}} [options]
   * @returns {Promise<Readonly<Snapshot>>}
   * @throws {PeercallError} `forbidden`, `participant_not_found` (server), `snapshot_failed`
   *   (the device could not capture), `timeout`
   */
  requestFromPeer(peerId, options = {}) {
    const requestId = newRequestId();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#settle(requestId, null, new PeercallError(ErrorCode.SnapshotFailed, 'No snapshot arrived in time.'));
      }, options.timeoutMs ?? REQUEST_TIMEOUT_MS);
      this.#pending.set(requestId, { resolve, reject, acked: false, timer });
      this.#init.send({ type: 'snapshot-request', to: peerId, request_id: requestId });
    });
  }

  /**
   * Capture our own camera at the best resolution it offers (effects suspended, torch and
   * focus where offered); what the SDK does when a host asks. Stored like any snapshot.
   * @param {EncodeOptions & {torch?: boolean, focus?: boolean}} [options]
   * @param {string} [requestId] the host's request this answers
   * @returns {Promise<Readonly<Snapshot>>}
   */
  async captureHighRes(options = {}, requestId) {
    const image = await this.#withEffectsSuspended((track) => captureBest(track, options));
    /** @type {Record<string, string>} */
    const params = requestId ? { request_id: requestId } : {};
    if (image.torch) params.torch = 'true';
    if (image.focus) params.focus = image.focus;
    return this.#upload(image, params);
  }

  /**
   * Server frames about snapshots (called by the Call). @param {Record<string, any>} frame
   * @returns {boolean} whether the frame was ours
   */
  handleFrame(frame) {
    switch (frame.type) {
      case 'snapshot-request':
        void this.#answer(frame);
        return true;
      case 'snapshot-requested': {
        const pending = this.#pending.get(String(frame.request_id));
        if (pending) pending.acked = true;
        return true;
      }
      case 'snapshot-failed':
        this.#settle(String(frame.request_id), null,
          new PeercallError(ErrorCode.SnapshotFailed, `The device could not take the photo: ${String(frame.reason || 'unknown reason')}`));
        this.#init.emit(CallEvent.SnapshotFailed, { requestId: String(frame.request_id), peerId: String(frame.from ?? ''), reason: String(frame.reason ?? '') });
        return true;
      case 'snapshot-taken': {
        const snapshot = toSnapshot(frame);
        if (this.#taken.has(snapshot.snapshotId)) return true; // replayed after a resume
        this.#taken.set(snapshot.snapshotId, snapshot);
        this.#init.emit(CallEvent.SnapshotTaken, { snapshot });
        if (snapshot.requestId) this.#settle(snapshot.requestId, snapshot);
        return true;
      }
      default:
        return false;
    }
  }

  /**
   * Fetch a stored image as a Blob (hosts of this room; the dashboard uses its API key).
   * @param {string} snapshotId @returns {Promise<Blob>}
   */
  async fetchImage(snapshotId) {
    const response = await fetch(`${this.#init.httpBase}/api/snapshots/${encodeURIComponent(snapshotId)}/image`, {
      headers: { Authorization: `Bearer ${this.#init.token}` },
      cache: 'no-store',
    });
    if (!response.ok) throw await httpError(response);
    return response.blob();
  }

  /** A host asked: capture, upload with the request id, or tell the host why not. @param {Record<string, any>} frame */
  async #answer(frame) {
    const requestId = String(frame.request_id ?? '');
    const by = frame.by ?? {};
    /** @type {SnapshotRequest} */
    const request = Object.freeze({
      requestId,
      from: String(frame.from ?? ''),
      by: Object.freeze({ peerId: String(by.peer_id ?? frame.from ?? ''), identity: String(by.identity ?? ''), name: String(by.name ?? '') }),
    });
    this.#init.emit(CallEvent.SnapshotRequested, { request });
    try {
      await this.captureHighRes({}, requestId);
    } catch (err) {
      const reason = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
      this.#init.send({ type: 'snapshot-failed', request_id: requestId, reason: reason.slice(0, 200) });
    }
  }

  /**
   * Run a capture of our own camera with every effects hook suspended.
   * @template T @param {(track: MediaStreamTrack) => Promise<T>} capture @returns {Promise<T>}
   */
  async #withEffectsSuspended(capture) {
    const suspended = [];
    let raw = null;
    try {
      for (const hook of this.#hooks) {
        const track = await hook.suspend();
        suspended.push(hook);
        if (track && track.kind === 'video' && track.readyState === 'live') raw = track;
      }
      const track = raw ?? this.#init.localStream()?.getVideoTracks().find((t) => t.readyState === 'live');
      if (!track) throw new PeercallError(ErrorCode.NoDevice, 'The camera is off: there is nothing to capture.');
      return await capture(track);
    } finally {
      for (const hook of suspended.reverse()) {
        try { await hook.resume(); } catch (err) { queueMicrotask(() => { throw err; }); }
      }
    }
  }

  /**
   * @param {{blob: Blob, method: CaptureMethod}} image
   * @param {Record<string, string>} params `subject`, `request_id`, `torch`, `focus`
   * @returns {Promise<Readonly<Snapshot>>}
   */
  async #upload(image, params) {
    const query = new URLSearchParams({ method: image.method, ...params });
    const response = await fetch(`${this.#init.httpBase}/api/snapshots?${query}`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${this.#init.token}`, 'Content-Type': image.blob.type },
      body: image.blob,
    });
    if (!response.ok) throw await httpError(response);
    const stored = toSnapshot(await response.json());
    // The room hears of it as `snapshot-taken` (with peer ids; the response has identities).
    return this.#taken.get(stored.snapshotId) ?? await new Promise((resolve) => {
      const timer = setTimeout(() => { off(); resolve(stored); }, 5_000);
      const off = this.#init.on(CallEvent.SnapshotTaken, ({ snapshot }) => {
        if (snapshot.snapshotId !== stored.snapshotId) return;
        clearTimeout(timer);
        off();
        resolve(snapshot);
      });
    });
  }

  /** @param {string} requestId @param {Readonly<Snapshot> | null} snapshot @param {PeercallError} [error] */
  #settle(requestId, snapshot, error) {
    const pending = this.#pending.get(requestId);
    if (!pending) return;
    this.#pending.delete(requestId);
    clearTimeout(pending.timer);
    if (snapshot) pending.resolve(snapshot);
    else pending.reject(error ?? new PeercallError(ErrorCode.SnapshotFailed, 'The snapshot failed.'));
  }
}

/** @param {Response} response @returns {Promise<PeercallError>} */
async function httpError(response) {
  let body = null;
  try { body = await response.json(); } catch { /* not JSON */ }
  const code = typeof body?.error?.code === 'string' ? body.error.code : 'internal';
  const message = typeof body?.error?.message === 'string' ? body.error.message : `HTTP ${response.status}`;
  return new PeercallError(code, message);
}
