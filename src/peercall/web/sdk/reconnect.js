/**
 * Rejoining after the signaling connection was lost (server restart, network switch,
 * laptop wake-up). Protocol v1 has no session resume, so the SDK joins again with the same
 * token; the server treats it as a new member (new peer id) and the connections to the
 * other peers are renegotiated.
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

const DELAYS_MS = [0, 300, 1_000, 2_000, 4_000, 8_000];

/** Retry at once, then with growing delays (+ up to 30 % jitter) for at most 60 s. */
export const DEFAULT_RECONNECT_POLICY = Object.freeze({
  /** @param {ReconnectContext} context */
  nextRetryDelayMs({ attempt, elapsedMs }) {
    if (elapsedMs > 60_000) return null;
    const base = DELAYS_MS[Math.min(attempt - 1, DELAYS_MS.length - 1)];
    return Math.round(base * (1 + 0.3 * Math.random()));
  },
});

/** Never reconnect: the call ends when the signaling connection is lost. */
export const NO_RECONNECT = Object.freeze({ nextRetryDelayMs: () => null });

/** Failures after which joining again with the same token may succeed. */
const RECONNECTABLE = new Set(/** @type {string[]} */ ([
  ErrorCode.ConnectionLost, ErrorCode.ConnectionFailed, ErrorCode.IdleTimeout,
  ErrorCode.SlowConsumer, ErrorCode.Internal,
]));

/** @param {PeercallError} error */
export const isReconnectable = (error) => RECONNECTABLE.has(error.code);

/**
 * Try `connect` until it succeeds, the policy gives up, a non-retryable error occurs, or
 * `cancelled()` becomes true.
 * @template T
 * @param {() => Promise<T>} connect
 * @param {ReconnectPolicy} policy
 * @param {PeercallError} error why the connection was lost
 * @param {() => boolean} cancelled
 * @returns {Promise<T | null>} null when cancelled
 * @throws {PeercallError} the last error when giving up
 */
export async function retryConnect(connect, policy, error, cancelled) {
  const lostAt = Date.now();
  for (let attempt = 1; ; attempt += 1) {
    const delay = policy.nextRetryDelayMs({ attempt, elapsedMs: Date.now() - lostAt, error });
    if (delay === null || delay === undefined) throw error;
    if (delay > 0) await new Promise((resolve) => setTimeout(resolve, delay));
    if (cancelled()) return null;
    try {
      return await connect();
    } catch (err) {
      error = err instanceof PeercallError ? err : new PeercallError(ErrorCode.ConnectionFailed, String(err), { fatal: true, cause: err });
      if (!isReconnectable(error)) throw error;
    }
  }
}
