/**
 * Local camera and microphone access.
 *
 * `getUserMedia` fails with a handful of DOMException names that differ subtly between
 * browsers; this module maps them to stable {@link PeercallError} codes an application can
 * turn into clear instructions for the user.
 *
 * @module media
 */

import { ErrorCode, PeercallError } from './errors.js';

/**
 * Constraints for {@link getLocalMedia}; the same shape as `MediaStreamConstraints`.
 * @typedef {object} LocalMediaOptions
 * @property {boolean | MediaTrackConstraints} [audio=true]
 * @property {boolean | MediaTrackConstraints} [video=true]
 */

/** @type {Record<string, {code: string, message: string}>} */
const BY_NAME = {
  NotAllowedError: {
    code: ErrorCode.PermissionDenied,
    message: 'Access to the camera or microphone was denied.',
  },
  SecurityError: {
    code: ErrorCode.PermissionDenied,
    message: 'Access to the camera or microphone is blocked by the browser or page policy.',
  },
  NotFoundError: {
    code: ErrorCode.NoDevice,
    message: 'No camera or microphone was found.',
  },
  OverconstrainedError: {
    code: ErrorCode.NoDevice,
    message: 'No camera or microphone matches the requested settings.',
  },
  NotReadableError: {
    code: ErrorCode.DeviceBusy,
    message: 'The camera or microphone is in use by another application or could not be started.',
  },
  AbortError: {
    code: ErrorCode.DeviceBusy,
    message: 'The camera or microphone could not be started.',
  },
  NotSupportedError: {
    code: ErrorCode.MediaUnsupported,
    message: 'This browser cannot capture the requested media.',
  },
};

/**
 * Map a `getUserMedia` failure to a {@link PeercallError}.
 * @param {unknown} err
 * @returns {PeercallError}
 */
export function mapMediaError(err) {
  if (err instanceof PeercallError) return err;
  const name = err && typeof err === 'object' && 'name' in err ? String(err.name) : '';
  const known = BY_NAME[name];
  if (known) {
    const detail = name === 'OverconstrainedError' && err && typeof err === 'object' && 'constraint' in err
      ? ` (constraint: ${String(err.constraint)})`
      : '';
    return new PeercallError(known.code, known.message + detail, { fatal: true, cause: err });
  }
  if (name === 'TypeError') {
    return new PeercallError(ErrorCode.InvalidArgument, 'Invalid media constraints: request audio, video or both.', { fatal: true, cause: err });
  }
  return new PeercallError(ErrorCode.MediaUnsupported, `Could not access the camera or microphone${name ? ` (${name})` : ''}.`, { fatal: true, cause: err });
}

/**
 * Acquire the local camera and/or microphone.
 *
 * @param {LocalMediaOptions} [options] defaults to `{audio: true, video: true}`
 * @returns {Promise<MediaStream>}
 * @throws {PeercallError} code `insecure_context` (page is not https/localhost or the
 *   browser has no `navigator.mediaDevices`), `permission_denied`, `no_device`,
 *   `device_busy`, `media_unsupported` or `invalid_argument`
 */
export async function getLocalMedia(options = {}) {
  const constraints = {
    audio: options.audio === undefined ? true : options.audio,
    video: options.video === undefined ? true : options.video,
  };
  if (!constraints.audio && !constraints.video) {
    throw new PeercallError(ErrorCode.InvalidArgument, 'Request audio, video or both.', { fatal: true });
  }
  if (typeof window !== 'undefined' && window.isSecureContext === false) {
    throw new PeercallError(ErrorCode.InsecureContext, 'Camera and microphone need a secure (https) page.', { fatal: true });
  }
  const devices = typeof navigator !== 'undefined' ? navigator.mediaDevices : undefined;
  if (!devices || typeof devices.getUserMedia !== 'function') {
    // Browsers hide navigator.mediaDevices entirely on insecure origins.
    const secure = typeof window === 'undefined' || window.isSecureContext !== false;
    throw secure && typeof RTCPeerConnection === 'undefined'
      ? new PeercallError(ErrorCode.MediaUnsupported, 'This browser does not support video calls.', { fatal: true })
      : new PeercallError(ErrorCode.InsecureContext, 'Camera and microphone need a secure (https) page.', { fatal: true });
  }
  try {
    return await devices.getUserMedia(constraints);
  } catch (err) {
    throw mapMediaError(err);
  }
}

/**
 * Stop every track of a stream (turns the camera light off).
 * @param {MediaStream | null | undefined} stream
 */
export function stopStream(stream) {
  if (!stream) return;
  for (const track of stream.getTracks()) track.stop();
}
