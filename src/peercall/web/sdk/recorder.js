/**
 * Call recording in the browser: `call.recording.start({mode})` / `stop()`.
 *
 * Modes:
 * - `composite` (default): one picture of the call — the remote video(s) and ours side
 *   by side on a canvas, every audio track mixed through WebAudio — recorded with
 *   MediaRecorder (WebM VP8 + Opus).
 * - `local`: only our own camera and microphone.
 * - `double-ender`: each participant records its own camera and mic *before* network
 *   compression and uploads it; the server aligns the two tracks with the clock offsets
 *   measured here and composes them. The other side joins in automatically when it
 *   sees the recording start.
 *
 * Chunks of `timesliceMs` are uploaded while recording ({@link ChunkUploader}). The
 * server decides who may record (room setting `recording`) and tells everyone with
 * `recording-state` frames, which become {@link CallEvent.RecordingStateChanged}.
 *
 * @module recorder
 */

import { ErrorCode, PeercallError } from './errors.js';
import { compositeStream } from './recorder-composite.js';
import { ChunkUploader } from './recorder-upload.js';

/**
 * @typedef {'composite' | 'local' | 'double-ender'} RecordingMode
 * @typedef {{id: string, state: 'recording' | 'stopping' | 'stopped', mode: RecordingMode | 'server', startedBy: string}} RecordingState
 *   (`server`: the room is recorded by the server's recorder peer, docs/recording.md)
 * @typedef {object} RecorderInit
 * @property {string} httpUrl the server's http(s) base URL
 * @property {string} token the join token (authorizes starting and stopping)
 * @property {() => MediaStream | null} localStream
 * @property {() => RTCPeerConnection[]} connections
 * @property {(frame: Record<string, unknown>) => void} send a signaling frame
 * @property {(event: string, payload: unknown) => void} emit
 * @property {(event: string, listener: (payload: any) => void) => void} [on]
 */

/** Shared recording controls of one call. */
export class CallRecording {
  #init;
  /** @type {RecordingState | null} */
  state = null;
  /** @type {{offsetMs: number, rttMs: number} | null} best NTP-style sample (min RTT) */
  clock = null;
  /** @type {Map<number, (serverTs: number) => void>} */
  #timeWaiters = new Map();
  /** @type {LocalSession | null} */
  #session = null;
  /** A start (ours, or joining a double-ender) is under way: frames must not start another. */
  #starting = false;

  /** @param {RecorderInit} init */
  constructor(init) {
    this.#init = init;
    // Leaving the call ends our recording cleanly: the rest is uploaded and finalized
    // (uploads use the track's key, not the signaling socket).
    init.on?.('ended', () => {
      if (this.#session) void this.stop().catch((error) => this.#init.emit('error', { error }));
    });
    if (init.httpUrl && init.token) setTimeout(() => void this.refresh().catch(() => {}), 0);
  }

  /** Ask the server which recordings run in our room (we may have joined after one started). */
  async refresh() {
    const response = await fetch(`${this.#init.httpUrl}/api/recordings/active`, {
      headers: { Authorization: `Bearer ${this.#init.token}` },
    });
    if (!response.ok) return;
    for (const recording of (await response.json()).recordings ?? []) {
      if (!this.state || this.state.id !== recording.id) this.handleState({ recording });
    }
  }

  /** @returns {boolean} this page is recording (uploading) right now */
  get active() {
    return this.#session !== null;
  }

  /** @returns {ChunkUploader | null} the running upload (progress: `acked`, `produced`, `retries`) */
  get uploader() {
    return this.#session?.uploader ?? null;
  }

  /**
   * Start recording the call. Resolves with the recording's id once recording runs.
   * @param {{mode?: RecordingMode, timesliceMs?: number, videoBitsPerSecond?: number}} [options]
   * @returns {Promise<string>}
   * @throws {PeercallError} `forbidden` when the room's setting does not let us record
   */
  async start(options = {}) {
    if (this.#session) throw new PeercallError(ErrorCode.InvalidArgument, 'already recording', { fatal: false });
    if (this.#starting) throw new PeercallError(ErrorCode.InvalidArgument, 'a recording is starting', { fatal: false });
    const mode = options.mode ?? 'composite';
    this.#starting = true;
    try {
      await this.measureClock();
      const upload = await this.#post('/api/recordings', { mode });
      const session = new LocalSession(this.#init, mode, upload, options);
      await session.begin();
      this.#session = session;
      return upload.recording_id;
    } finally {
      this.#starting = false;
    }
  }

  /**
   * Stop recording and finish the upload; resolves with the server's recording (state
   * `processing` once every track is in).
   * @returns {Promise<Record<string, any>>}
   */
  async stop() {
    const session = this.#session;
    if (!session) throw new PeercallError(ErrorCode.InvalidArgument, 'not recording', { fatal: false });
    if (session.mode === 'double-ender') await this.#post(`/api/recordings/${session.recordingId}/stop`, {});
    return this.#finish(session);
  }

  /** @param {LocalSession} session */
  async #finish(session) {
    try {
      return await session.end(this.clock);
    } finally {
      if (this.#session === session) this.#session = null;
    }
  }

  /**
   * Measure our clock's offset to the server's (5 `time` round trips, keep the sample
   * with the smallest RTT: its error is at most RTT/2).
   * @returns {Promise<{offsetMs: number, rttMs: number}>}
   */
  async measureClock(samples = 5) {
    for (let i = 0; i < samples; i += 1) {
      const sent = Date.now();
      const serverTs = await new Promise((resolve, reject) => {
        const timer = setTimeout(() => { this.#timeWaiters.delete(sent); reject(new Error('no time reply')); }, 3000);
        this.#timeWaiters.set(sent, (ts) => { clearTimeout(timer); resolve(ts); });
        this.#init.send({ type: 'time', ts: sent });
      }).catch(() => null);
      if (serverTs === null) continue;
      const rtt = Date.now() - sent;
      const sample = { offsetMs: serverTs - (sent + rtt / 2), rttMs: rtt };
      if (!this.clock || sample.rttMs <= this.clock.rttMs) this.clock = sample;
    }
    return this.clock ?? { offsetMs: 0, rttMs: -1 };
  }

  /** @param {Record<string, any>} frame the server's `time` reply */
  handleTime(frame) {
    this.#timeWaiters.get(Number(frame.ts))?.(Number(frame.server_ts));
    this.#timeWaiters.delete(Number(frame.ts));
  }

  /** @param {Record<string, any>} frame the server's `recording-state` */
  handleState(frame) {
    const r = frame.recording ?? {};
    /** @type {RecordingState} */
    const state = Object.freeze({ id: String(r.id), state: r.state, mode: r.mode, startedBy: String(r.started_by ?? '') });
    this.state = state.state === 'stopped' ? null : state;
    this.#init.emit('recordingStateChanged', { recording: state, local: this.#session?.recordingId === state.id });
    const session = this.#session;
    if (state.mode === 'double-ender') {
      if (state.state === 'recording' && !session && !this.#starting) void this.#joinDoubleEnder(state.id);
      if (state.state === 'stopping' && session?.recordingId === state.id) void this.#finish(session).catch(() => {});
    }
  }

  /** The other side started a double-ender recording: record our own side into it. @param {string} id */
  async #joinDoubleEnder(id) {
    this.#starting = true;
    try {
      await this.measureClock();
      const upload = await this.#post(`/api/recordings/${id}/tracks`, {});
      const session = new LocalSession(this.#init, 'double-ender', upload, {});
      await session.begin();
      this.#session = session;
    } catch (error) {
      this.#init.emit('error', { error });
    } finally {
      this.#starting = false;
    }
  }

  /** @param {string} path @param {unknown} body */
  async #post(path, body) {
    const response = await fetch(`${this.#init.httpUrl}${path}`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${this.#init.token}`, 'Content-Type': 'application/json' },
      body: JSON.stringify(body),
    });
    const data = await response.json().catch(() => ({}));
    if (!response.ok) throw new PeercallError(data?.error?.code ?? 'internal', data?.error?.message ?? `HTTP ${response.status}`, { fatal: false });
    return data;
  }
}

/** One MediaRecorder and its uploader, from begin() to end(). */
class LocalSession {
  /** @type {MediaRecorder | null} */
  #recorder = null;
  /** @type {(() => void)[]} */
  #cleanup = [];
  #startedAt = 0;
  /** @type {Promise<void>} */
  #lastPush = Promise.resolve();

  /**
   * @param {RecorderInit} init @param {RecordingMode} mode @param {Record<string, any>} upload
   * @param {{timesliceMs?: number, videoBitsPerSecond?: number}} options
   */
  constructor(init, mode, upload, options) {
    this.init = init;
    this.mode = mode;
    this.recordingId = String(upload.recording_id);
    this.uploadUrl = String(upload.upload_url);
    this.uploadKey = String(upload.upload_key);
    this.options = options;
    this.uploader = new ChunkUploader({ uploadUrl: this.uploadUrl, uploadKey: this.uploadKey, maxChunkBytes: Number(upload.max_chunk_bytes) });
  }

  async begin() {
    let stream;
    if (this.mode === 'composite') {
      const composite = compositeStream(this.init.localStream, this.init.connections);
      this.#cleanup.push(composite.stop);
      stream = composite.stream;
    } else {
      stream = this.#local();
    }
    const recorder = this.#recorder = new MediaRecorder(stream, {
      mimeType: 'video/webm;codecs=vp8,opus',
      videoBitsPerSecond: this.options.videoBitsPerSecond ?? 2_500_000,
      audioBitsPerSecond: 128_000,
    });
    recorder.addEventListener('dataavailable', (event) => {
      if (event.data.size) this.#lastPush = this.#lastPush.then(() => this.uploader.push(event.data)).catch((error) => {
        this.init.emit('error', { error });
        if (recorder.state !== 'inactive') recorder.stop();
      });
    });
    await new Promise((resolve) => {
      recorder.addEventListener('start', resolve, { once: true });
      // The recording's timeline begins at start(), not at the (later, async) start event.
      this.#startedAt = Date.now();
      recorder.start(this.options.timesliceMs ?? 2000);
    });
  }

  /** @param {{offsetMs: number, rttMs: number} | null} clock */
  async end(clock) {
    const recorder = this.#recorder;
    if (recorder && recorder.state !== 'inactive') {
      await new Promise((resolve) => {
        recorder.addEventListener('stop', resolve, { once: true });
        recorder.stop();
      });
    }
    for (const undo of this.#cleanup) undo();
    await this.#lastPush;
    await this.uploader.drain();
    const response = await fetch(`${this.uploadUrl}/finalize`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${this.uploadKey}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({
        chunks: this.uploader.produced,
        started_at: this.#startedAt + (clock?.offsetMs ?? 0),
        clock_offset_ms: clock?.offsetMs ?? 0,
        rtt_ms: Math.max(0, clock?.rttMs ?? 0),
      }),
    });
    const data = await response.json().catch(() => ({}));
    if (!response.ok) throw new PeercallError(data?.error?.code ?? 'internal', data?.error?.message ?? 'finalize failed', { fatal: false });
    return data;
  }

  /** Our own camera and microphone, as captured (before any network compression). */
  #local() {
    const own = this.init.localStream();
    if (!own) throw new PeercallError(ErrorCode.InvalidArgument, 'no local media to record', { fatal: false });
    return new MediaStream(own.getTracks().filter((t) => t.readyState === 'live'));
  }
}
