/**
 * Moderator controls (protocol v1 `moderate` / `moderation`): the actions, who sent a
 * command, and the frame a host sends. The server enforces roles; a participant's
 * `moderate` is answered with a non-fatal `forbidden` error and has no effect.
 *
 * Received commands are carried out by {@link import('./media-controls.js').MediaControls}:
 * `mute_audio`, `disable_video`, `stop_screen` at once; `unmute_audio`/`enable_video`
 * (rooms with `allow_host_unmute` only) at once; `ask_unmute`/`ask_video` become a
 * `moderationRequest` event the app answers with `accept()` or `decline()`. `remove`
 * never arrives as a command: the server ends the session with the fatal error `removed`.
 *
 * @module moderation
 */

import { ErrorCode, PeercallError } from './errors.js';

/**
 * Actions a host can take on another member.
 * @readonly
 */
export const ModerationAction = Object.freeze({
  /** Mute their microphone (they can unmute themselves). */
  MuteAudio: 'mute_audio',
  /** Turn their camera off (released: the light goes out). */
  DisableVideo: 'disable_video',
  /** Stop their screen share (their camera comes back if it was on). */
  StopScreen: 'stop_screen',
  /** Remove them: the call ends for them and their link no longer works in this room. */
  Remove: 'remove',
  /** Ask them to unmute: they see a prompt and decide. */
  AskUnmute: 'ask_unmute',
  /** Ask them to turn the camera on: they see a prompt and decide. */
  AskVideo: 'ask_video',
  /** Unmute them directly: only in rooms with the setting `allow_host_unmute`. */
  UnmuteAudio: 'unmute_audio',
  /** Turn their camera on directly: only in rooms with the setting `allow_host_unmute`. */
  EnableVideo: 'enable_video',
});

/** @typedef {'mute_audio' | 'disable_video' | 'stop_screen' | 'remove' | 'ask_unmute' | 'ask_video' | 'unmute_audio' | 'enable_video'} ModerationActionName */
/** @typedef {'ask_unmute' | 'ask_video'} ModerationAsk */

const ACTIONS = new Set(Object.values(ModerationAction));

/** Commands carried out without asking, and the media operation each one means. */
export const APPLIED = /** @type {const} */ ({
  mute_audio: 'muteMic',
  disable_video: 'cameraOff',
  stop_screen: 'stopScreenShare',
  unmute_audio: 'unmuteMic',
  enable_video: 'cameraOn',
});

/** Requests the user answers, and what accepting does. */
export const ASKED = /** @type {const} */ ({ ask_unmute: 'unmuteMic', ask_video: 'cameraOn' });

/**
 * Who sent a moderation command: a host in the call, or the organiser's dashboard
 * (`peerId` null, `identity` `"dashboard"`).
 * @typedef {object} Moderator
 * @property {string | null} peerId
 * @property {string} identity
 * @property {string} name
 */

/**
 * @param {Record<string, any>} by the `by` object of a `moderation` frame
 * @returns {Readonly<Moderator>}
 */
export function toModerator(by) {
  return Object.freeze({
    peerId: typeof by?.peer_id === 'string' ? by.peer_id : null,
    identity: String(by?.identity ?? ''),
    name: String(by?.name ?? ''),
  });
}

/**
 * The `moderate` frame for a host command.
 * @param {string} peerId the member to act on
 * @param {string} action one of {@link ModerationAction}
 * @returns {{type: 'moderate', to: string, action: ModerationActionName}}
 * @throws {PeercallError} `invalid_argument` for an unknown action
 */
export function moderateFrame(peerId, action) {
  if (!ACTIONS.has(/** @type {any} */ (action))) {
    throw new PeercallError(ErrorCode.InvalidArgument, `Unknown moderation action: ${String(action)}`);
  }
  return { type: 'moderate', to: peerId, action: /** @type {ModerationActionName} */ (action) };
}
