/**
 * The signaling WebSocket (protocol v1, see docs/protocol.md).
 *
 * Responsibilities: open the socket, send `join` and wait for `joined`, keep the session
 * alive with a `ping` about every 5 s (every ping sent through it counts, the Call's
 * server-path probe's too), detect a dead server, parse incoming frames and hand them
 * out as `frame` events, turn server `error` frames into {@link PeercallError}s, and buffer
 * outgoing frames (bounded) until the session is joined. On a `drain` frame (the node is
 * shutting down) it closes the socket after a random delay within the frame's window, with
 * the retryable error `draining`, so the Call resumes the session on another node and one
 * node's clients do not all reconnect at once. It knows nothing about WebRTC.
 *
 * @module signal-client
 */

import { Emitter } from './emitter.js';
import { ErrorCode, PeercallError, fromServerError } from './errors.js';
import { MAX_FRAME_BYTES, PROTOCOL_VERSION, closeError, parseFrame } from './wire.js';

/**
 * One ping stream per client: every outgoing `ping` (ours or the Call's server-path probe,
 * access-probe.js, which pings at this pace when calm) carries `ack` and counts as the
 * keepalive. The keepalive pings only when no ping went out for this long plus
 * {@link KEEPALIVE_SLACK_MS}, so in a call it never adds a second stream.
 */
export const PING_INTERVAL_MS = 5_000;
/** Lets the regular pinger (the probe, ticking every 250 ms) win the race at the due time. */
const KEEPALIVE_SLACK_MS = 500;
/** How often the keepalive checks for silence and for a ping being due. */
const KEEPALIVE_TICK_MS = 500;
/** Resume attempts of this page, numbered across all its sessions (the server wants them increasing). */
let resumeAttempts = 0;
/** No frame at all from the server for this long (pongs included) means the link is dead. */
const SERVER_SILENCE_MS = 12_000;
const MAX_QUEUED_FRAMES = 256;
/** Stop writing into the socket while this much is still unsent; queue instead. */
const HIGH_WATER_BYTES = 1024 * 1024;
const DRAIN_POLL_MS = 50;

/**
 * @typedef {object} SignalClose
 * @property {number} code WebSocket close code
 * @property {string} reason WebSocket close reason
 * @property {boolean} expected true when we closed it ourselves
 * @property {PeercallError | null} error the fatal error that explains the close, if any
 */

/**
 * @typedef {object} SignalEvents
 * @property {Record<string, any>} frame a parsed server frame other than `joined`/`pong`/`error`
 * @property {PeercallError} error a server `error` frame or a local send failure
 * @property {Record<string, any>} pong a `pong` frame (answer to any `ping`; its `ts` is echoed)
 * @property {SignalClose} close the socket closed after the session was joined
 */

/** @extends {Emitter<SignalEvents>} */
export class SignalClient extends Emitter {
  #url;
  /** @type {WebSocket | null} */
  #ws = null;
  /** @type {string[]} */
  #queue = [];
  #joined = false;
  #closedByUs = false;
  /** @type {PeercallError | null} */
  #fatal = null;
  #lastFrameAt = 0;
  /** The highest `seq` handed to the Call (acknowledged with every ping). */
  #highestSeq = 0;
  /** When the last `ping` was sent or queued (by anyone). */
  #lastPingAt = 0;
  /** @type {ReturnType<typeof setInterval> | undefined} */
  #pingTimer;
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  #drainTimer;
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  #moveTimer;

  /** @param {string} url the `ws(s)://…/ws` URL */
  constructor(url) {
    super();
    this.#url = url;
  }

  /** True between `joined` and the socket closing. */
  get joined() {
    return this.#joined;
  }

  /**
   * Open the socket, send `join` and resolve with the server's `joined` frame.
   * @param {string} token the join JWT
   * @param {{timeoutMs?: number, abort?: AbortSignal}} [options] `abort` abandons the attempt
   *   (rejects with `connection_failed`)
   * @returns {Promise<Record<string, any>>} the raw `joined` frame (snake_case)
   * @throws {PeercallError} the server's error code (`token_expired`, `room_full`, …) or
   *   `connection_failed` when the server cannot be reached or does not answer in time
   */
  connect(token, { timeoutMs = 15_000, abort } = {}) {
    return this.#open({ type: 'join', v: PROTOCOL_VERSION, token }, 'joined', timeoutMs, abort);
  }

  /**
   * Open the socket and take over a dropped session: resolves with the server's `resumed`
   * frame; the frames we missed (after `lastSeq`) follow as ordinary `frame` events.
   * @param {string} resumeToken from `joined`/`resumed`
   * @param {number} lastSeq the highest `seq` we processed
   * @param {{timeoutMs?: number, abort?: AbortSignal}} [options] see {@link connect}
   * @returns {Promise<Record<string, any>>}
   * @throws {PeercallError} `resume_failed` (join again instead) or `connection_failed`
   */
  resume(resumeToken, lastSeq, { timeoutMs = 5_000, abort } = {}) {
    // `attempt` orders our attempts: one we abandoned but the server reads late is refused
    // instead of evicting the socket of the attempt that replaced it.
    resumeAttempts += 1;
    const frame = { type: 'resume', v: PROTOCOL_VERSION, resume_token: resumeToken, last_seq: lastSeq, attempt: resumeAttempts };
    return this.#open(frame, 'resumed', timeoutMs, abort);
  }

  /**
   * @param {Record<string, unknown>} first the first frame to send
   * @param {string} expected the frame type that admits us
   * @param {number} timeoutMs
   * @param {AbortSignal} [abort]
   * @returns {Promise<Record<string, any>>}
   */
  #open(first, expected, timeoutMs, abort) {
    if (this.#ws) return Promise.reject(new PeercallError(ErrorCode.InvalidArgument, 'connect() called twice', { fatal: true }));
    return new Promise((resolve, reject) => {
      let settled = false;
      /** @param {PeercallError} err */
      const fail = (err) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        this.close(1000, 'join failed');
        reject(err);
      };
      const timer = setTimeout(() => fail(new PeercallError(ErrorCode.ConnectionFailed,
        'The call server did not answer in time.', { fatal: true })), timeoutMs);
      abort?.addEventListener('abort', () => fail(new PeercallError(ErrorCode.ConnectionFailed,
        'Connection attempt abandoned (the network changed).', { fatal: true })), { once: true });

      let ws;
      try {
        ws = new WebSocket(this.#url);
      } catch (err) {
        fail(new PeercallError(ErrorCode.ConnectionFailed, 'Could not open the connection to the call server.', { fatal: true, cause: err }));
        return;
      }
      this.#ws = ws;
      ws.onopen = () => ws.send(JSON.stringify(first));
      ws.onmessage = (event) => {
        const frame = parseFrame(event.data);
        if (!frame) return;
        this.#lastFrameAt = Date.now();
        if (typeof frame.seq === 'number' && frame.seq > this.#highestSeq) this.#highestSeq = frame.seq;
        if (this.#joined) {
          this.#dispatch(frame);
        } else if (frame.type === expected) {
          settled = true;
          clearTimeout(timer);
          this.#joined = true;
          this.#startKeepalive();
          resolve(frame);
          this.#drain();
        } else if (frame.type === 'error') {
          const error = fromServerError(frame);
          error.fatal = true; // any error before `joined` ends the attempt
          fail(error);
        }
      };
      ws.onerror = () => {}; // always followed by `close`, which carries the details
      ws.onclose = (event) => {
        const wasJoined = this.#joined;
        this.#joined = false;
        this.#stopTimers();
        const error = this.#fatal ?? (this.#closedByUs ? null : closeError(event));
        if (!settled) {
          fail(error && error.code !== ErrorCode.ConnectionLost ? error : new PeercallError(ErrorCode.ConnectionFailed,
            'Could not connect to the call server.', { fatal: true, cause: event }));
        } else if (wasJoined) {
          this.emit('close', { code: event.code, reason: event.reason, expected: this.#closedByUs, error });
        }
      };
    });
  }

  /**
   * Send a frame. Before `joined`, or while the socket is backed up, frames wait in a
   * bounded queue; on overflow the frame is dropped and a `queue_full` error is emitted.
   * Frames sent after the socket closed are dropped silently. A `ping` gets `ack` (the
   * highest `seq` we processed; the server may drop those from our replay ring) and counts
   * as the keepalive.
   * @param {Record<string, unknown>} frame
   */
  send(frame) {
    if (this.#closedByUs || (this.#ws && this.#ws.readyState >= 2)) return;
    if (frame.type === 'ping') {
      this.#lastPingAt = Date.now();
      if (this.#highestSeq) frame = { ...frame, ack: this.#highestSeq };
    }
    const data = JSON.stringify(frame);
    if (data.length > MAX_FRAME_BYTES / 4 && new TextEncoder().encode(data).length > MAX_FRAME_BYTES) {
      this.emit('error', new PeercallError(ErrorCode.MessageTooLarge, `Outgoing ${String(frame.type)} frame exceeds 64 KiB; dropped.`, { ref: String(frame.type) }));
      return;
    }
    if (this.#queue.length === 0 && this.#writable()) {
      /** @type {WebSocket} */ (this.#ws).send(data);
      return;
    }
    if (this.#queue.length >= MAX_QUEUED_FRAMES) {
      this.emit('error', new PeercallError(ErrorCode.QueueFull, `Signaling send queue full; ${String(frame.type)} frame dropped.`, { ref: String(frame.type) }));
      return;
    }
    this.#queue.push(data);
    if (this.#joined) this.#scheduleDrain();
  }

  /**
   * Close the socket (idempotent). No `close` event is emitted for a close we asked for
   * before `joined`; after `joined` the event has `expected: true`.
   * @param {number} [code=1000]
   * @param {string} [reason]
   */
  close(code = 1000, reason = '') {
    this.#closedByUs = true;
    this.#stopTimers();
    this.#queue.length = 0;
    const ws = this.#ws;
    if (ws && ws.readyState < 2) {
      try {
        ws.close(code, reason);
      } catch {
        ws.close();
      }
    }
  }

  /** @param {Record<string, any>} frame */
  #dispatch(frame) {
    switch (frame.type) {
      case 'pong':
        this.emit('pong', frame); // call-stats measures its server-path probe with it
        return;
      case 'error': {
        const error = fromServerError(frame);
        if (error.fatal) this.#fatal = error;
        this.emit('error', error);
        return;
      }
      case 'drain':
        this.#moveSoon(frame);
        this.emit('frame', frame);
        return;
      default:
        this.emit('frame', frame);
    }
  }

  /**
   * Leave a draining node: close the socket after a random delay within the window; the
   * `close` event carries the retryable `draining` error, and the Call resumes elsewhere.
   * @param {Record<string, any>} frame
   */
  #moveSoon(frame) {
    if (this.#moveTimer !== undefined) return;
    const within = Number.isFinite(frame.reconnect_within_ms) ? Math.max(0, frame.reconnect_within_ms) : 0;
    this.#moveTimer = setTimeout(() => {
      this.#fatal ??= new PeercallError(ErrorCode.Draining, 'The call server is shutting down; moving to another.', { fatal: true });
      this.#ws?.close(4000, 'draining');
    }, Math.random() * within);
  }

  #writable() {
    const ws = this.#ws;
    return this.#joined && ws !== null && ws.readyState === 1 && ws.bufferedAmount < HIGH_WATER_BYTES;
  }

  #drain() {
    while (this.#queue.length > 0 && this.#writable()) {
      /** @type {WebSocket} */ (this.#ws).send(/** @type {string} */ (this.#queue.shift()));
    }
    if (this.#queue.length > 0) this.#scheduleDrain();
  }

  #scheduleDrain() {
    if (this.#drainTimer === undefined) {
      this.#drainTimer = setTimeout(() => {
        this.#drainTimer = undefined;
        this.#drain();
      }, DRAIN_POLL_MS);
    }
  }

  /**
   * Declare the server dead after {@link SERVER_SILENCE_MS} without a frame; ping when no
   * ping (ours or the probe's) went out for {@link PING_INTERVAL_MS} (plus slack).
   */
  #startKeepalive() {
    this.#lastPingAt ||= Date.now(); // `join`/`resume` just went out: the next ping is due in 5 s
    this.#pingTimer = setInterval(() => {
      const now = Date.now();
      if (now - this.#lastFrameAt > SERVER_SILENCE_MS) {
        this.#fatal ??= new PeercallError(ErrorCode.ConnectionLost, 'The call server stopped answering.', { fatal: true });
        this.#ws?.close(4000, 'server silent');
        return;
      }
      if (now - this.#lastPingAt >= PING_INTERVAL_MS + KEEPALIVE_SLACK_MS) this.send({ type: 'ping', ts: now });
    }, KEEPALIVE_TICK_MS);
  }

  #stopTimers() {
    clearInterval(this.#pingTimer);
    clearTimeout(this.#drainTimer);
    clearTimeout(this.#moveTimer);
    this.#pingTimer = undefined;
    this.#drainTimer = undefined;
  }
}
