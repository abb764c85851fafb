/**
 * `join()`: from a server URL and a join token to a live {@link Call}.
 *
 * @module join
 */

import { Call } from './call.js';
import { ErrorCode, PeercallError } from './errors.js';
import { getLocalMedia, stopStream } from './media.js';
import { DEFAULT_RECONNECT_POLICY, firstJoin } from './reconnect.js';
import { SignalClient } from './signal-client.js';
import { toWebSocketUrl } from './wire.js';

/**
 * @typedef {object} JoinOptions
 * @property {string | URL} [url=location.origin] the server's http(s) base URL; the
 *   signaling socket is `ws(s)://<same host>/ws`. A `ws(s)://` URL is used as-is.
 * @property {string} token the join token (JWT) issued by the server's REST API
 * @property {MediaStream | null} [localStream] the media to send. When omitted the SDK
 *   acquires camera and microphone with `getLocalMedia(media)` and stops them when the
 *   call ends; pass `null` to join receive-only. A stream you pass is never stopped by
 *   the SDK.
 * @property {import('./media.js').LocalMediaOptions} [media] constraints used when the
 *   SDK acquires the media itself
 * @property {RTCIceServer[]} [iceServers] override the ICE servers the server announces
 * @property {number} [timeoutMs=15000] give up when the server has not admitted us by then
 * @property {import('./reconnect.js').ReconnectPolicy} [reconnectPolicy] how to resume/rejoin
 *   after the signaling connection is lost (default: retry for up to 60 s;
 *   `{nextRetryDelayMs: () => null}` ends the call instead)
 * @property {import('./media-recovery.js').MediaRecoveryPolicy} [mediaRecoveryPolicy] timers
 *   and retry schedule of the media recovery ladder (default: DEFAULT_MEDIA_RECOVERY)
 */

/**
 * Join the room named in the token.
 *
 * Resolves once the server has admitted us (its `joined` frame); connections to the peers
 * already in the room are being negotiated by then. Subscribe to the call's events right
 * away: `peerJoined` for peers already present fires just after the promise settles.
 *
 * @param {JoinOptions} options
 * @returns {Promise<Call>}
 * @throws {PeercallError} a media code (`permission_denied`, …) when the SDK acquires the
 *   media, a server code (`token_expired`, `token_invalid`, `room_full`,
 *   `room_not_found`, …), `connection_failed` or `invalid_argument`
 */
export async function join(options) {
  if (!options || typeof options !== 'object') {
    throw new PeercallError(ErrorCode.InvalidArgument, 'join() needs an options object', { fatal: true });
  }
  const { token, iceServers, timeoutMs } = options;
  if (typeof token !== 'string' || token === '') {
    throw new PeercallError(ErrorCode.TokenMissing, 'join() needs a token', { fatal: true });
  }
  if (iceServers !== undefined && !Array.isArray(iceServers)) {
    throw new PeercallError(ErrorCode.InvalidArgument, 'iceServers must be an array of RTCIceServer', { fatal: true });
  }
  const reconnectPolicy = options.reconnectPolicy ?? DEFAULT_RECONNECT_POLICY;
  if (typeof reconnectPolicy.nextRetryDelayMs !== 'function') {
    throw new PeercallError(ErrorCode.InvalidArgument, 'reconnectPolicy needs a nextRetryDelayMs(context) method', { fatal: true });
  }
  const wsUrl = toWebSocketUrl(options.url ?? (typeof location !== 'undefined' ? location.origin : ''));
  const connect = async (/** @type {AbortSignal | undefined} */ abort) => {
    const signal = new SignalClient(wsUrl);
    return { signal, joined: await signal.connect(token, { timeoutMs, abort }) };
  };
  const resume = async (/** @type {string} */ resumeToken, /** @type {number} */ lastSeq, /** @type {AbortSignal | undefined} */ abort) => {
    const signal = new SignalClient(wsUrl);
    return { signal, joined: await signal.resume(resumeToken, lastSeq, { abort }) };
  };

  const ownsLocalStream = options.localStream === undefined;
  const localStream = ownsLocalStream ? await getLocalMedia(options.media) : options.localStream;
  let session;
  try {
    session = await firstJoin(() => connect(), reconnectPolicy);
  } catch (err) {
    if (ownsLocalStream) stopStream(localStream);
    throw err;
  }
  return new Call({
    session, connect, resume, reconnectPolicy, mediaRecoveryPolicy: options.mediaRecoveryPolicy,
    localStream: localStream ?? null, ownsLocalStream, iceServers,
    httpBase: new URL(wsUrl.replace(/^ws/, 'http')).origin,
    httpUrl: wsUrl.replace(/^ws/, 'http').replace(/\/ws$/, ''),
    token,
  });
}
