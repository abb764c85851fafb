/**
 * The wire format of signaling protocol v1 (docs/protocol.md): URL, frame parsing, close
 * codes, and the snake_case → camelCase mapping of server objects. No I/O.
 *
 * @module wire
 */

import { ErrorCode, PeercallError } from './errors.js';

export const PROTOCOL_VERSION = 1;
/** Largest frame the server accepts. */
export const MAX_FRAME_BYTES = 64 * 1024;

/**
 * Close codes of fatal server errors, used when the socket closed without an `error` frame.
 * Every close code of the server's table (peercall/errors.py) has an entry
 * (tests/unit/test_scale_close_codes_sdk.py).
 */
const CLOSE_CODES = /** @type {Record<number, string>} */ ({
  4001: ErrorCode.TokenInvalid,
  4003: ErrorCode.RoomFull,
  4004: ErrorCode.RoomNotFound,
  4005: ErrorCode.UnsupportedVersion,
  4008: ErrorCode.IdleTimeout,
  4009: ErrorCode.MessageTooLarge,
  4010: ErrorCode.SessionReplaced,
  4011: ErrorCode.ResumeFailed,
  4012: ErrorCode.SessionExpired,
  4013: ErrorCode.SlowConsumer,
  4014: ErrorCode.Removed,
  4015: ErrorCode.Draining,
  4016: ErrorCode.ResumeSuperseded,
  4017: ErrorCode.HubUnavailable,
  4029: ErrorCode.RateLimitAbuse,
  4403: ErrorCode.OriginForbidden,
  4500: ErrorCode.Internal,
  4503: ErrorCode.ServerBusy,
});

/**
 * Derive the signaling URL from the server's base URL: `http(s)://host[:port]/…` becomes
 * `ws(s)://host[:port]/ws`; a `ws(s)://` URL is used unchanged.
 * @param {string | URL} url
 * @returns {string}
 */
export function toWebSocketUrl(url) {
  let parsed;
  try {
    parsed = new URL(String(url), typeof location !== 'undefined' ? location.href : undefined);
  } catch (err) {
    throw new PeercallError(ErrorCode.InvalidArgument, `Invalid server URL: ${String(url)}`, { fatal: true, cause: err });
  }
  if (parsed.protocol === 'ws:' || parsed.protocol === 'wss:') return parsed.href;
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new PeercallError(ErrorCode.InvalidArgument, `Unsupported server URL scheme: ${parsed.protocol}`, { fatal: true });
  }
  return `${parsed.protocol === 'https:' ? 'wss:' : 'ws:'}//${parsed.host}/ws`;
}

/**
 * @param {unknown} data a WebSocket message
 * @returns {Record<string, any> | null} the frame, or null when it is not a JSON object with a `type`
 */
export function parseFrame(data) {
  if (typeof data !== 'string') return null;
  try {
    const frame = JSON.parse(data);
    return frame && typeof frame === 'object' && typeof frame.type === 'string' ? frame : null;
  } catch {
    return null;
  }
}

/**
 * The error a close event stands for when the server closed without an `error` frame.
 * @param {{code: number, reason: string}} event
 * @returns {PeercallError}
 */
export function closeError(event) {
  const code = CLOSE_CODES[event.code] ?? (/^[a-z_]{3,40}$/.test(event.reason) ? event.reason : null);
  if (code) return new PeercallError(code, event.reason || code, { fatal: true });
  return new PeercallError(ErrorCode.ConnectionLost, `The connection to the call server was lost (close code ${event.code}).`, { fatal: true });
}

/**
 * What a member sends (its last `media-state`).
 * @typedef {object} MediaState
 * @property {'on' | 'muted' | 'none'} audio `none`: no microphone
 * @property {'on' | 'off' | 'none'} video `none`: no camera
 * @property {boolean} screen sharing a screen (in the camera's place)
 */

/**
 * A remote participant.
 * @typedef {object} Peer
 * @property {string} peerId per-connection id assigned by the server
 * @property {string} identity stable user identity from the token (`sub`)
 * @property {string} name display name from the token
 * @property {'host' | 'participant' | 'recorder'} role role from the signed token (`recorder`: the
 *   server's recorder peer of a room recorded by the server; it sends no media)
 * @property {Readonly<MediaState>} [media] what it sends now (kept current by the Call)
 */

/**
 * @param {Record<string, any>} p a wire peer (`peer_id`, `identity`, `name`, `role`, `media`)
 * @returns {Readonly<Peer>}
 */
export function toPeer(p) {
  return Object.freeze({
    peerId: String(p.peer_id),
    identity: String(p.identity ?? ''),
    name: String(p.name ?? ''),
    role: p.role === 'host' || p.role === 'recorder' ? p.role : 'participant',
    ...(p.media && typeof p.media === 'object' ? { media: toMedia(p.media) } : {}),
  });
}

/**
 * @param {Record<string, any>} m a wire media state; unknown values read as "on"
 * @returns {Readonly<MediaState>}
 */
export function toMedia(m) {
  return Object.freeze({
    audio: m?.audio === 'muted' || m?.audio === 'none' ? m.audio : 'on',
    video: m?.video === 'off' || m?.video === 'none' ? m.video : 'on',
    screen: m?.screen === true,
  });
}
