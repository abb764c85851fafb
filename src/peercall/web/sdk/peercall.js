/**
 * peercall browser SDK: peer-to-peer 1:1 video calls over the peercall signaling server.
 *
 * Plain ES modules, no dependencies, no build step; served by the peercall server at
 * `/sdk/peercall.js`.
 *
 * @example
 * import { join, getLocalMedia, CallEvent, PeercallError } from '/sdk/peercall.js';
 *
 * const localStream = await getLocalMedia({ audio: true, video: true });
 * const call = await join({ url: location.origin, token, localStream });
 * call.on(CallEvent.RemoteTrack, ({ stream }) => { remoteVideo.srcObject = stream; });
 * call.on(CallEvent.PeerLeft, ({ reason }) => { if (reason === 'hangup') call.leave(); });
 * call.on(CallEvent.Ended, ({ reason }) => showEndScreen(reason));
 * hangupButton.onclick = () => call.leave();
 *
 * Layers: join → Call → (SignalClient, PeerLink per remote peer). Every failure is a
 * PeercallError with a stable `code` (see ErrorCode).
 *
 * @module peercall
 */

export { join } from './join.js';
export { Call } from './call.js';
export { CallEvent } from './events.js';
export { getLocalMedia } from './media.js';
export { listDevices } from './devices.js';
export { ModerationAction } from './moderation.js';
export { PeercallError, ErrorCode } from './errors.js';
export { ChatEvent, MAX_CHAT_TEXT } from './chat.js';
export { DATA_CHANNELS } from './data-channels.js';
export { FileEvent } from './file-transfer.js';
export { WhiteboardEvent, BOARD_SIZE } from './whiteboard.js';
export { MAX_APP_MESSAGE_BYTES } from './app-messages.js';
export { MESH_TIERS, planSenders } from './mesh-bandwidth.js';

/** SDK version. */
export const VERSION = '0.1.0';
/** Signaling protocol version spoken by this SDK. */
export { PROTOCOL_VERSION } from './wire.js';
export { DEFAULT_RECONNECT_POLICY, NO_RECONNECT } from './reconnect.js';
export { DEFAULT_MEDIA_RECOVERY } from './media-recovery.js';

/**
 * @typedef {import('./join.js').JoinOptions} JoinOptions
 * @typedef {import('./media.js').LocalMediaOptions} LocalMediaOptions
 * @typedef {import('./reconnect.js').ReconnectPolicy} ReconnectPolicy
 * @typedef {import('./reconnect.js').ReconnectContext} ReconnectContext
 * @typedef {import('./events.js').Peer} Peer
 * @typedef {import('./events.js').SelfInfo} SelfInfo
 * @typedef {import('./events.js').PeerLeftReason} PeerLeftReason
 * @typedef {import('./events.js').EndReason} EndReason
 * @typedef {import('./events.js').LeaveReason} LeaveReason
 * @typedef {import('./events.js').CallEvents} CallEvents
 * @typedef {import('./events.js').MediaState} MediaState
 * @typedef {import('./events.js').MediaChangeCause} MediaChangeCause
 * @typedef {import('./media-controls.js').MediaControls} MediaControls
 * @typedef {import('./devices.js').DeviceList} DeviceList
 * @typedef {import('./devices.js').MediaDeviceEntry} MediaDeviceEntry
 * @typedef {import('./moderation.js').ModerationActionName} ModerationActionName
 * @typedef {import('./moderation.js').Moderator} Moderator
 * @typedef {import('./snapshots.js').Snapshot} Snapshot
 * @typedef {import('./snapshots.js').SnapshotRequest} SnapshotRequest
 * @typedef {import('./snapshots.js').CaptureEffectsHook} CaptureEffectsHook
 * @typedef {import('./chat.js').ChatMessage} ChatMessage
 * @typedef {import('./file-transfer.js').TransferInfo} TransferInfo
 * @typedef {import('./app-messages.js').AppMessage} AppMessage
 * @typedef {import('./call-stats.js').CallStats} CallStats
 * @typedef {import('./stats.js').StatsSample} StatsSample
 * @typedef {import('./quality.js').Assessment} QualityAssessment
 * @typedef {import('./quality.js').QualityLevel} QualityLevel
 * @typedef {import('./quality.js').QualityCause} QualityCause
 */
