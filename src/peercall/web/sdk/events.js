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
  /** `{error}`: the signaling connection was lost; the SDK is rejoining with the same token. */
  Reconnecting: 'reconnecting',
  /** `{self}`: rejoined after a lost signaling connection (`self.peerId` is new). */
  Reconnected: 'reconnected',
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

/** @typedef {'hangup' | 'disconnected' | 'replaced' | 'removed' | 'room_ended'} PeerLeftReason */

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
 * @property {{self: SelfInfo}} reconnected
 * @property {{error: import('./errors.js').PeercallError}} error
 * @property {{reason: EndReason, error?: import('./errors.js').PeercallError}} ended
 */

export {};
