/**
 * Getting the signaling session back after the connection was lost (network switch,
 * laptop wake-up, server restart). First the SDK *resumes* (same peer id, missed frames
 * replayed, peer connections untouched); when the server no longer knows the session
 * (restarted, or the grace period is over) it *rejoins* with the same token.
 *
 * The retry schedule is an injectable policy, `nextRetryDelayMs(context)` → milliseconds
 * or `null` to give up.
 *
 * @module reconnect
 */

import { ErrorCode, PeercallError } from './errors.js';

/**
 * @typedef {object} ReconnectContext
 * @property {number} attempt 1 for the first attempt
 * @property {number} elapsedMs since the connection was lost
 * @property {PeercallError} error why the connection (or the previous attempt) failed
 */

/**
 * @typedef {object} ReconnectPolicy
 * @property {(context: ReconnectContext) => number | null} nextRetryDelayMs
 */

const DELAYS_MS = [0, 250, 500, 1_000, 2_000, 3_000];
/**
 * While the browser reports no network at all (`navigator.onLine === false`) an attempt
 * fails inside the browser and reaches no server, so trying often costs nothing and the
 * outage ends within ~0.3 s of the network's return. Waiting for the browser's `online`
 * event instead costs ~1 s more (Chromium announces a returned network after a debounce),
 * and the backoff alone up to 3 s (measured: bench/reconnect.py, link down 5 s).
 */
const OFFLINE_POLL_MS = 300;

/**
 * Retry at once, then often (the network is usually back within seconds), ±20 % jitter, for
 * at most 60 s; every ~0.3 s while the browser is offline.
 */
export const DEFAULT_RECONNECT_POLICY = Object.freeze({
  /** @param {ReconnectContext} context */
  nextRetryDelayMs({ attempt, elapsedMs }) {
    if (elapsedMs > 60_000) return null;
    let base = DELAYS_MS[Math.min(attempt - 1, DELAYS_MS.length - 1)];
    if (browserOffline()) base = Math.min(base, OFFLINE_POLL_MS);
    return Math.round(base * (0.8 + 0.4 * Math.random()));
  },
});

/** The browser knows it has no network (false when unknown, e.g. outside a browser). */
const browserOffline = () => typeof navigator !== 'undefined' && navigator.onLine === false;

/** Never reconnect: the call ends when the signaling connection is lost. */
export const NO_RECONNECT = Object.freeze({ nextRetryDelayMs: () => null });

/** Failures after which joining again with the same token may succeed. */
const RECONNECTABLE = new Set(/** @type {string[]} */ ([
  ErrorCode.ConnectionLost, ErrorCode.ConnectionFailed, ErrorCode.IdleTimeout,
  ErrorCode.SlowConsumer, ErrorCode.Internal, ErrorCode.ResumeFailed, ErrorCode.Draining,
  ErrorCode.HubUnavailable, ErrorCode.ServerBusy, ErrorCode.TooManyConnections,
]));

/** @param {PeercallError} error */
export const isReconnectable = (error) => RECONNECTABLE.has(error.code);

/**
 * The server refused a join *for now*: a draining node (the balancer sends the next try
 * elsewhere), a full node, a node that lost its Redis for a moment, an address at its
 * socket limit (a school's NAT: other sockets close). Unlike a network failure on the
 * first join (a wrong URL, no server), another try soon succeeds.
 */
const REFUSED_FOR_NOW = new Set(/** @type {string[]} */ ([
  ErrorCode.Draining, ErrorCode.ServerBusy, ErrorCode.HubUnavailable, ErrorCode.TooManyConnections,
]));

/** How long `join()` keeps trying after such refusals before it reports the last one. */
export const FIRST_JOIN_WINDOW_MS = 15_000;
const FIRST_JOIN_MIN_DELAY_MS = 250;

/**
 * The first join: `connect`, again after a refusal-for-now (with the reconnect policy's
 * delays, at least 250 ms apart, within {@link FIRST_JOIN_WINDOW_MS}); any other failure,
 * or the policy giving up (`NO_RECONNECT`), is thrown at once.
 * @template T
 * @param {() => Promise<T>} connect
 * @param {ReconnectPolicy} policy
 * @param {(ms: number) => Promise<void>} [sleep]
 * @returns {Promise<T>}
 */
export async function firstJoin(connect, policy, sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))) {
  const started = Date.now();
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await connect();
    } catch (err) {
      if (!(err instanceof PeercallError) || !REFUSED_FOR_NOW.has(err.code)) throw err;
      const elapsedMs = Date.now() - started;
      const delay = policy.nextRetryDelayMs({ attempt, elapsedMs, error: err });
      if (delay === null || delay === undefined) throw err;
      const wait = Math.max(delay, FIRST_JOIN_MIN_DELAY_MS);
      if (elapsedMs + wait > FIRST_JOIN_WINDOW_MS) throw err;
      await sleep(wait);
    }
  }
}

/**
 * Try `connect` until it succeeds, the policy gives up, a non-retryable error occurs, or
 * `cancelled()` becomes true.
 * @template T
 * @param {() => Promise<T>} connect
 * @param {ReconnectPolicy} policy
 * @param {PeercallError} error why the connection was lost
 * @param {() => boolean} cancelled
 * @param {(ms: number) => Promise<void>} [sleep] wait between attempts; may end early
 *   (the Call wakes it when the browser comes back online)
 * @returns {Promise<T | null>} null when cancelled
 * @throws {PeercallError} the last error when giving up
 */
export async function retryConnect(connect, policy, error, cancelled, sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))) {
  const lostAt = Date.now();
  for (let attempt = 1; ; attempt += 1) {
    const delay = policy.nextRetryDelayMs({ attempt, elapsedMs: Date.now() - lostAt, error });
    if (delay === null || delay === undefined) throw error;
    if (delay > 0) await sleep(delay);
    if (cancelled()) return null;
    try {
      return await connect();
    } catch (err) {
      error = err instanceof PeercallError ? err : new PeercallError(ErrorCode.ConnectionFailed, String(err), { fatal: true, cause: err });
      if (!isReconnectable(error)) throw error;
    }
  }
}

/**
 * A wait between reconnect attempts that a network event can cut short. A wake-up that
 * arrives while an attempt is running makes the next wait end at once.
 */
export class WakeableSleep {
  #pending = false;
  /** @type {() => void} */
  #wakeNow = () => {};

  /** @param {number} ms @returns {Promise<void>} */
  sleep(ms) {
    return new Promise((resolve) => {
      if (this.#pending) {
        this.#pending = false;
        resolve();
        return;
      }
      const timer = setTimeout(resolve, ms);
      this.#wakeNow = () => { this.#pending = false; clearTimeout(timer); resolve(); };
    });
  }

  /** End the current wait, or the next one if no wait is running. */
  wake() {
    this.#pending = true;
    this.#wakeNow();
  }

  /** Forget pending wake-ups (the reconnection is over). */
  reset() {
    this.#pending = false;
    this.#wakeNow = () => {};
  }
}

/**
 * One reconnect attempt: resume the session when we have a resume token, else (or when
 * the server forgot the session) join again with the token.
 * @template S
 * @param {{resumeToken: string | null, lastSeq: number, resume: (token: string, lastSeq: number) => Promise<S>, connect: () => Promise<S>, forgetResume: () => void}} how
 * @returns {Promise<{resumed: boolean, session: S}>}
 */
export async function resumeOrRejoin({ resumeToken, lastSeq, resume, connect, forgetResume }) {
  if (resumeToken) {
    try {
      return { resumed: true, session: await resume(resumeToken, lastSeq) };
    } catch (err) {
      if (!(err instanceof PeercallError) || err.code !== ErrorCode.ResumeFailed) throw err;
      forgetResume(); // the server forgot us: join again
    }
  }
  return { resumed: false, session: await connect() };
}

/** A reconnect attempt older than this is abandoned when the network comes back. */
const ATTEMPT_ABANDON_MS = 300;

/**
 * @template S
 * @typedef {object} SessionReconnectHooks
 * @property {ReconnectPolicy} policy
 * @property {(token: string, lastSeq: number, abort: AbortSignal) => Promise<S>} resume
 * @property {(abort: AbortSignal) => Promise<S>} connect join again with the token
 * @property {() => string | null} resumeToken
 * @property {() => void} forgetResume the server forgot the session
 * @property {() => number} lastSeq
 * @property {() => boolean} cancelled the call ended meanwhile
 */

/**
 * Drives one signaling outage of a Call: resume-or-rejoin attempts on the policy's schedule.
 * A network event (`hurry()`) cuts the wait short and abandons an attempt that has hung
 * since before the network came back (its TCP SYN was lost and is only retried after 1 s,
 * then 3 s).
 * @template S
 */
export class SessionReconnect {
  #hooks;
  #retryWait = new WakeableSleep();
  /** @type {{abort: AbortController, startedAt: number} | null} the attempt in flight */
  #attempt = null;

  /** @param {SessionReconnectHooks<S>} hooks */
  constructor(hooks) {
    this.#hooks = hooks;
  }

  /**
   * Retry until a session is back, the policy gives up (throws its last error) or the call
   * ended (null).
   * @param {PeercallError} error why the connection was lost
   * @returns {Promise<{resumed: boolean, session: S, attempts: number} | null>}
   */
  async run(error) {
    const hooks = this.#hooks;
    let attempts = 0;
    const attempt = async () => {
      attempts += 1;
      const current = this.#attempt = { abort: new AbortController(), startedAt: Date.now() };
      const abort = current.abort.signal;
      try {
        return await resumeOrRejoin({
          resumeToken: hooks.resumeToken(),
          lastSeq: hooks.lastSeq(),
          resume: (token, lastSeq) => hooks.resume(token, lastSeq, abort),
          connect: () => hooks.connect(abort),
          forgetResume: hooks.forgetResume,
        });
      } finally {
        if (this.#attempt === current) this.#attempt = null;
      }
    };
    try {
      const result = await retryConnect(attempt, hooks.policy, error, hooks.cancelled, (ms) => this.#retryWait.sleep(ms));
      return result && { ...result, attempts };
    } finally {
      this.#retryWait.reset();
    }
  }

  /** The network came back or changed: try again now. */
  hurry() {
    if (this.#attempt && Date.now() - this.#attempt.startedAt > ATTEMPT_ABANDON_MS) this.#attempt.abort.abort();
    this.#retryWait.wake();
  }

  /** The call ended: end a wait at once. */
  stop() {
    this.#retryWait.wake();
  }
}
