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
  /** `{media, cause}`: our own media state changed (`call.media.state`); already announced to the room. */
  LocalMedia: 'localMedia',
  /** `{peerId, media, peer}`: a remote peer muted/unmuted, turned the camera off/on, started/stopped sharing. */
  PeerMedia: 'peerMedia',
  /** `{action, by, changed}`: a host muted us, turned our camera off, stopped our share (or, if the room allows, turned them on); already done. */
  Moderated: 'moderated',
  /** `{action, by, accept, decline}`: a host asks us to unmute (`ask_unmute`) or to turn the camera on (`ask_video`); call one of the two. */
  ModerationRequest: 'moderationRequest',
  /** `{recording: {id, state: 'recording'|'stopping'|'stopped', mode, startedBy}, local}`: a recording of this call started or stopped (show an indicator). */
  RecordingStateChanged: 'recordingStateChanged',
  /** `{kind, deviceId, label, fallback}`: the device in use disappeared; `fallback` took over (null: no other device). */
  DeviceLost: 'deviceLost',
  /** `{devices}`: a device was plugged in or out; the new list. */
  DevicesChanged: 'devicesChanged',
  /** `{request}`: a host asked our device for a photo (video-KYC); the SDK is taking it now and uploads it. */
  SnapshotRequested: 'snapshotRequested',
  /** `{snapshot}`: a snapshot was stored in this call (by anyone; a host's request or a capture); both sides see it. */
  SnapshotTaken: 'snapshotTaken',
  /** `{requestId, peerId, reason}`: the device we asked for a photo could not take it. */
  SnapshotFailed: 'snapshotFailed',
  /** `{sample, assessment}`: a new statistics sample of the connection (every second; see `call.stats`). */
  StatsSample: 'statsSample',
  /** `{side, level, causes}`: the call quality changed: `side` `local` (what we measure) or `remote` (what the other side reports). */
  QualityChanged: 'qualityChanged',
  /**
   * `{side, causes, reason}`: a quality problem and whose it is: `local` (ours), `remote` (theirs)
   * or `path` (the connection between us; the figures cannot place it). `reason`: `unstable`
   * (that side's network), `upload` (its upload bandwidth), `cpu` (its machine), `path`.
   */
  QualityAlert: 'qualityAlert',
  /** `{side, causes, reason}`: that side's problem is over. */
  QualityAlertCleared: 'qualityAlertCleared',
  /** `{peerId, levels}`: the member speaking now changed (`peerId` null: nobody); `levels` by peer id, 0..1. */
  ActiveSpeaker: 'activeSpeaker',
  /** `{plan}`: the caps on our video senders changed (a member joined or left, or the uplink is short); see `call.bandwidth`. */
  BandwidthPlan: 'bandwidthPlan',
  /** `{error}`: a PeercallError; `error.fatal` tells whether the call ends because of it. */
  Error: 'error',
  /** `{reason, error?}`: the call is over; no further events follow. */
  Ended: 'ended',
});

/**
 * @typedef {import('./wire.js').Peer} Peer
 */

/**
 * What a member sends: `audio` `on`/`muted`/`none` (no microphone), `video` `on`/`off`/`none`
 * (no camera; `off` while a screen is shared in its place), `screen` sharing a screen.
 * @typedef {import('./wire.js').MediaState} MediaState
 */

/**
 * Why our media state changed: `user` (the app called `call.media`), `moderation` (a
 * host's command, or a request we accepted), `device_lost` (hot-plug), `screen_ended`
 * (the browser's "Stop sharing"), `join`/`reconnect` (announced again).
 * @typedef {'user' | 'moderation' | 'device_lost' | 'screen_ended' | 'join' | 'reconnect'} MediaChangeCause
 */

/**
 * Ourselves, as the server admitted us (`media` is absent: see `call.media.state`).
 * @typedef {Peer & {roomId: string, callId: string}} SelfInfo
 */

/** @typedef {'hangup' | 'navigate' | 'error' | 'disconnected' | 'timeout' | 'replaced' | 'removed' | 'room_ended'} PeerLeftReason */

/**
 * Why we leave, as sent in the `leave` frame (the other side sees it as `peerLeft.reason`):
 * `hangup` (the user hung up), `navigate` (the page is going away), `error`.
 * @typedef {'hangup' | 'navigate' | 'error'} LeaveReason
 */

/**
 * Why a call ended: the {@link LeaveReason} given to `call.leave()`, `room_ended`,
 * `replaced` (same identity joined elsewhere), `removed` (a host removed us; the link no
 * longer works in this room), `disconnected` (signaling lost and could not be rejoined)
 * or `error` (see the `error` field).
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
 * @property {{media: MediaState, cause: MediaChangeCause}} localMedia
 * @property {{peerId: string, media: MediaState, peer: Peer | undefined}} peerMedia
 * @property {{action: import('./moderation.js').ModerationActionName, by: import('./moderation.js').Moderator, changed: boolean}} moderated
 * @property {{action: import('./moderation.js').ModerationAsk, by: import('./moderation.js').Moderator, accept: () => Promise<MediaState>, decline: () => void}} moderationRequest
 * @property {{kind: 'audioinput' | 'videoinput' | 'audiooutput', deviceId: string, label: string, fallback: {deviceId: string, label: string} | null}} deviceLost
 * @property {{recording: import('./recorder.js').RecordingState, local: boolean}} recordingStateChanged
 * @property {{devices: import('./devices.js').DeviceList}} devicesChanged
 * @property {{request: import('./snapshots.js').SnapshotRequest}} snapshotRequested
 * @property {{snapshot: import('./snapshots.js').Snapshot}} snapshotTaken
 * @property {{requestId: string, peerId: string, reason: string}} snapshotFailed
 * @property {{sample: import('./stats.js').StatsSample, assessment: import('./quality.js').Assessment}} statsSample
 * @property {{side: 'local' | 'remote', level: import('./quality.js').QualityLevel, causes: import('./quality.js').QualityCause[]}} qualityChanged
 * @property {{side: 'local' | 'remote' | 'path', causes: import('./quality.js').QualityCause[], reason: string}} qualityAlert
 * @property {{side: 'local' | 'remote' | 'path', causes: import('./quality.js').QualityCause[], reason: string}} qualityAlertCleared
 * @property {{peerId: string | null, levels: Record<string, number>}} activeSpeaker
 * @property {{plan: import('./mesh-bandwidth.js').SenderPlan}} bandwidthPlan
 * @property {{error: import('./errors.js').PeercallError}} error
 * @property {{reason: EndReason, error?: import('./errors.js').PeercallError}} ended
 */

export {};
