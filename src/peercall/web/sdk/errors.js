/**
 * Errors raised by the peercall SDK.
 *
 * Every failure the SDK reports is a {@link PeercallError} with a stable, machine-readable
 * `code`. Codes come from two places:
 *
 *   PeercallError
 *   ├── client codes   insecure_context, permission_denied, no_device, device_busy,
 *   │                  media_unsupported, invalid_argument, connection_failed,
 *   │                  connection_lost, negotiation_failed, queue_full, peer_not_found
 *   └── server codes   the `code` of a signaling `error` frame, passed through unchanged
 *                      (token_expired, room_full, room_not_found, session_replaced, …)
 *
 * Branch on `error.code`, never on `error.message` (messages are for humans and may change).
 *
 * @module errors
 */

/**
 * Stable error codes. Server codes are listed for convenience; a server may add codes, so
 * treat unknown codes as generic failures.
 * @readonly
 */
export const ErrorCode = Object.freeze({
  // Local media (getLocalMedia)
  InsecureContext: 'insecure_context',
  PermissionDenied: 'permission_denied',
  NoDevice: 'no_device',
  DeviceBusy: 'device_busy',
  MediaUnsupported: 'media_unsupported',
  // SDK / transport
  InvalidArgument: 'invalid_argument',
  ConnectionFailed: 'connection_failed',
  ConnectionLost: 'connection_lost',
  NegotiationFailed: 'negotiation_failed',
  QueueFull: 'queue_full',
  PeerNotFound: 'peer_not_found',
  MessageTooLarge: 'message_too_large',
  SnapshotFailed: 'snapshot_failed',
  InvalidMessage: 'invalid_message',
  TransferFailed: 'transfer_failed',
  // Server (signaling protocol v1 `error` frames)
  BadJson: 'bad_json',
  BadMessage: 'bad_message',
  UnknownType: 'unknown_type',
  RateLimited: 'rate_limited',
  RateLimitAbuse: 'rate_limit_abuse',
  StatsRateLimited: 'stats_rate_limited',
  UnsupportedVersion: 'unsupported_version',
  NotJoined: 'not_joined',
  AlreadyJoined: 'already_joined',
  JoinTimeout: 'join_timeout',
  TokenMissing: 'token_missing',
  TokenInvalid: 'token_invalid',
  TokenExpired: 'token_expired',
  RoomNotFound: 'room_not_found',
  RoomFull: 'room_full',
  OriginForbidden: 'origin_forbidden',
  SessionReplaced: 'session_replaced',
  ResumeFailed: 'resume_failed',
  SessionExpired: 'session_expired',
  IdleTimeout: 'idle_timeout',
  SlowConsumer: 'slow_consumer',
  HubUnavailable: 'hub_unavailable',
  Draining: 'draining',
  ServerBusy: 'server_busy',
  ResumeSuperseded: 'resume_superseded',
  Forbidden: 'forbidden',
  ParticipantNotFound: 'participant_not_found',
  Removed: 'removed',
  TokenRevoked: 'token_revoked',
  TooManyConnections: 'too_many_connections',
  Internal: 'internal',
  // Server (REST answers to the SDK's own calls: snapshots, recordings)
  Unauthorized: 'unauthorized',
  LinkExpired: 'link_expired',
  BadRequest: 'bad_request',
  NotFound: 'not_found',
  InvalidImage: 'invalid_image',
  UnsupportedMedia: 'unsupported_media',
  MediaFailed: 'media_failed',
  PayloadTooLarge: 'payload_too_large',
  RecordingClosed: 'recording_closed',
  RecordingNotReady: 'recording_not_ready',
  ChunkOutOfOrder: 'chunk_out_of_order',
  ChunkConflict: 'chunk_conflict',
  ChunksMissing: 'chunks_missing',
  ChecksumMismatch: 'checksum_mismatch',
});

/**
 * @typedef {object} PeercallErrorOptions
 * @property {boolean} [fatal=false] the call (or the join attempt) cannot continue
 * @property {string} [ref] the signaling frame type that caused a server error, if known
 * @property {unknown} [cause] the underlying error (DOMException, close event, …)
 */

/** The one error type of the SDK. */
export class PeercallError extends Error {
  /**
   * @param {string} code stable machine-readable code (see {@link ErrorCode})
   * @param {string} message human-readable explanation
   * @param {PeercallErrorOptions} [options]
   */
  constructor(code, message, options = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'PeercallError';
    /** @type {string} */
    this.code = code;
    /** @type {boolean} */
    this.fatal = Boolean(options.fatal);
    /** @type {string | undefined} */
    this.ref = options.ref;
  }

  /** @returns {{name: string, code: string, message: string, fatal: boolean, ref?: string}} */
  toJSON() {
    return { name: this.name, code: this.code, message: this.message, fatal: this.fatal, ref: this.ref };
  }
}

/**
 * Build a PeercallError from a server `error` frame.
 * @param {{code?: unknown, message?: unknown, fatal?: unknown, ref?: unknown}} frame
 * @returns {PeercallError}
 */
export function fromServerError(frame) {
  const code = typeof frame.code === 'string' && frame.code ? frame.code : ErrorCode.Internal;
  const message = typeof frame.message === 'string' && frame.message ? frame.message : code;
  const ref = typeof frame.ref === 'string' ? frame.ref : undefined;
  return new PeercallError(code, message, { fatal: frame.fatal === true, ref });
}
