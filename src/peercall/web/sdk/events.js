/**
 * The events of a {@link Call}: names and payload types.
 *
 * @module events
 */

/**
 * Names of the events a Call emits; subscribe with `call.on(CallEvent.X, listener)`.
 * @readonly
 */
export const CallEvent = Object.freeze({
  /** `{peer}`: a remote peer is in the call (also fired, right after join() resolves, for peers already there). */
  PeerJoined: 'peerJoined',
  /** `{peerId, reason, peer}`: a remote peer left; its connection is closed. */
  PeerLeft: 'peerLeft',
  /** `{peerId, track, stream}`: a remote audio or video track arrived. */
  RemoteTrack: 'remoteTrack',
  /** `{peerId, state}`: the RTCPeerConnection.connectionState of a peer changed. */
  ConnectionState: 'connectionState',
  /** `{error}`: our signaling connection was lost (or the network changed); the SDK is resuming the session. */
  Reconnecting: 'reconnecting',
  /** `{self, resumed}`: signaling is back. `resumed`: same session; false: rejoined (`self.peerId` is new). */
  Reconnected: 'reconnected',
  /** `{peerId, peer}`: a remote peer lost its signaling connection; its place is kept for the grace period. */
  PeerReconnecting: 'peerReconnecting',
  /** `{peerId, peer}`: that peer is back (resumed, or rejoined after a server restart). */
  PeerReconnected: 'peerReconnected',
  /** `{peerId, cause, step, attempt}`: the media path to a peer broke; a recovery step is being tried. */
  MediaRecovering: 'mediaRecovering',
  /** `{peerId, cause, durationMs, outcome, steps}`: the recovery episode ended (`recovered` or `failed`). */
  MediaRecovered: 'mediaRecovered',
  /** `{error}`: a PeercallError; `error.fatal` tells whether the call ends because of it. */
  Error: 'error',
  /** `{reason, error?}`: the call is over; no further events follow. */
  Ended: 'ended',
});

/**
 * @typedef {import('./wire.js').Peer} Peer
 */

/**
 * Ourselves, as the server admitted us.
 * @typedef {Peer & {roomId: string, callId: string}} SelfInfo
 */

/** @typedef {'hangup' | 'navigate' | 'error' | 'disconnected' | 'timeout' | 'replaced' | 'room_ended'} PeerLeftReason */

/**
 * Why we leave, as sent in the `leave` frame (the other side sees it as `peerLeft.reason`):
 * `hangup` (the user hung up), `navigate` (the page is going away), `error`.
 * @typedef {'hangup' | 'navigate' | 'error'} LeaveReason
 */

/**
 * Why a call ended: the {@link LeaveReason} given to `call.leave()`, `room_ended`,
 * `replaced` (same identity joined elsewhere), `disconnected` (signaling lost and could
 * not be rejoined) or `error` (see the `error` field).
 * @typedef {string} EndReason
 */

/**
 * Payload of each event, by event name.
 * @typedef {object} CallEvents
 * @property {{peer: Peer}} peerJoined
 * @property {{peerId: string, reason: PeerLeftReason, peer: Peer | undefined}} peerLeft
 * @property {{peerId: string, track: MediaStreamTrack, stream: MediaStream}} remoteTrack
 * @property {{peerId: string, state: RTCPeerConnectionState}} connectionState
 * @property {{error: import('./errors.js').PeercallError}} reconnecting
 * @property {{self: SelfInfo, resumed: boolean}} reconnected
 * @property {{peerId: string, peer: Peer | undefined}} peerReconnecting
 * @property {{peerId: string, peer: Peer | undefined}} peerReconnected
 * @property {{peerId: string, cause: string, step: string, attempt: number}} mediaRecovering
 * @property {{peerId: string, cause: string, durationMs: number, outcome: 'recovered' | 'failed', steps: {step: string, ok: boolean, ms: number}[]}} mediaRecovered
 * @property {{error: import('./errors.js').PeercallError}} error
 * @property {{reason: EndReason, error?: import('./errors.js').PeercallError}} ended
 */

export {};
