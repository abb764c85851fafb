/**
 * Media devices: listing them with labels, acquiring one track from a chosen device,
 * watching hot-plug (`devicechange`), and choosing the speaker (`setSinkId`).
 *
 * Browsers hide device labels until the page holds a camera/microphone permission; the
 * call page always has one (it joined with media), and unlabelled devices get a
 * numbered fallback label ("Microphone 2") so a menu never shows blank entries.
 *
 * @module devices
 */

import { ErrorCode, PeercallError } from './errors.js';
import { mapMediaError } from './media.js';

/**
 * One input or output device.
 * @typedef {object} MediaDeviceEntry
 * @property {string} deviceId pass it to `call.media.selectMicrophone()`, `selectCamera()`, `setSpeaker()`
 * @property {string} groupId devices of one physical unit share it (headset mic + speaker)
 * @property {string} label human-readable name (a numbered fallback when the browser hides it)
 */

/**
 * @typedef {object} DeviceList
 * @property {MediaDeviceEntry[]} microphones
 * @property {MediaDeviceEntry[]} cameras
 * @property {MediaDeviceEntry[]} speakers empty where the browser cannot choose the output
 */

const FALLBACK_LABELS = /** @type {const} */ ({ audioinput: 'Microphone', videoinput: 'Camera', audiooutput: 'Speaker' });

/** @returns {MediaDevices | undefined} */
const mediaDevices = () => (typeof navigator !== 'undefined' ? navigator.mediaDevices : undefined);

/** True where an audio output can be chosen (`HTMLMediaElement.setSinkId`). */
export const speakerSelectionSupported = () =>
  typeof HTMLMediaElement !== 'undefined' && typeof HTMLMediaElement.prototype.setSinkId === 'function';

/**
 * The devices the browser exposes, by kind, with labels.
 * @returns {Promise<DeviceList>}
 * @throws {PeercallError} `media_unsupported` without `navigator.mediaDevices`
 */
export async function listDevices() {
  const md = mediaDevices();
  if (!md || typeof md.enumerateDevices !== 'function') {
    throw new PeercallError(ErrorCode.MediaUnsupported, 'This browser cannot list media devices.');
  }
  const all = await md.enumerateDevices();
  /** @param {MediaDeviceKind} kind @returns {MediaDeviceEntry[]} */
  const of = (kind) => all
    .filter((d) => d.kind === kind && d.deviceId !== '')
    .map((d, i) => ({ deviceId: d.deviceId, groupId: d.groupId, label: d.label || `${FALLBACK_LABELS[kind]} ${i + 1}` }));
  return {
    microphones: of('audioinput'),
    cameras: of('videoinput'),
    speakers: speakerSelectionSupported() ? of('audiooutput') : [],
  };
}

/**
 * Open one device and return its track.
 * @param {'audio' | 'video'} kind
 * @param {{deviceId?: string, constraints?: MediaTrackConstraints}} [options] `deviceId`:
 *   that exact device (default: the browser's default device); `constraints`: extra
 *   settings (resolution, frame rate, echo cancellation …) kept across device switches
 * @returns {Promise<MediaStreamTrack>}
 * @throws {PeercallError} as {@link import('./media.js').getLocalMedia}
 */
export async function acquireTrack(kind, { deviceId, constraints = {} } = {}) {
  const md = mediaDevices();
  if (!md || typeof md.getUserMedia !== 'function') {
    throw new PeercallError(ErrorCode.InsecureContext, 'Camera and microphone need a secure (https) page.');
  }
  const { deviceId: _ignored, ...rest } = constraints;
  /** @type {MediaTrackConstraints | boolean} */
  const track = deviceId ? { ...rest, deviceId: { exact: deviceId } } : (Object.keys(rest).length ? rest : true);
  try {
    const stream = await md.getUserMedia(kind === 'audio' ? { audio: track } : { video: track });
    const [first, ...others] = stream.getTracks();
    for (const extra of others) extra.stop();
    return first;
  } catch (err) {
    const error = mapMediaError(err);
    error.fatal = false; // a failed switch does not end the call
    throw error;
  }
}

/**
 * Share a screen, window or tab (the browser shows its own picker).
 * @returns {Promise<MediaStreamTrack>} the video track of the capture
 * @throws {PeercallError} `permission_denied` (the user cancelled or the page may not
 *   capture), `media_unsupported`
 */
export async function acquireScreen() {
  const md = mediaDevices();
  if (!md || typeof md.getDisplayMedia !== 'function') {
    throw new PeercallError(ErrorCode.MediaUnsupported, 'This browser cannot share the screen.');
  }
  try {
    const stream = await md.getDisplayMedia({ video: true, audio: false });
    const [track, ...others] = stream.getTracks();
    for (const extra of others) extra.stop();
    if ('contentHint' in track) track.contentHint = 'detail'; // keep text sharp rather than smooth
    return track;
  } catch (err) {
    const error = mapMediaError(err);
    error.fatal = false;
    if (error.code === ErrorCode.PermissionDenied) error.message = 'Screen sharing was cancelled or is not allowed.';
    throw error;
  }
}

/**
 * Route an element's sound to a speaker.
 * @param {HTMLMediaElement} element
 * @param {string} deviceId an `audiooutput` id from {@link listDevices}; `''` = the default
 * @returns {Promise<void>}
 * @throws {PeercallError} `media_unsupported` where the browser cannot choose the output,
 *   `no_device` when the device is gone, `permission_denied` when not allowed
 */
export async function setSinkId(element, deviceId) {
  if (!speakerSelectionSupported()) {
    throw new PeercallError(ErrorCode.MediaUnsupported, 'This browser cannot choose the speaker.');
  }
  try {
    await element.setSinkId(deviceId);
  } catch (err) {
    const error = mapMediaError(err);
    error.fatal = false;
    throw error;
  }
}

/**
 * Call `onChange` whenever devices are plugged in or out.
 * @param {() => void} onChange
 * @returns {() => void} stop watching
 */
export function watchDevices(onChange) {
  const md = mediaDevices();
  if (!md || typeof md.addEventListener !== 'function') return () => {};
  md.addEventListener('devicechange', onChange);
  return () => md.removeEventListener('devicechange', onChange);
}

/**
 * @param {MediaStreamTrack | null | undefined} track
 * @returns {string} the id of the device a track captures from ('' when unknown)
 */
export const deviceIdOf = (track) => (track && typeof track.getSettings === 'function' ? track.getSettings().deviceId ?? '' : '');
