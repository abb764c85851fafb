/**
 * User-facing texts for SDK error codes and end reasons. Customers restyling the UI can
 * replace this module to change wording or language.
 */

/** @type {Record<string, string>} */
const ERROR_TEXT = {
  insecure_context: 'Video calls need a secure connection. Open this link with https:// (not http://).',
  permission_denied: 'Camera and microphone access is blocked. Click the camera icon in the address bar (or open the site settings), allow camera and microphone, then press “Try again”.',
  no_device: 'No camera or microphone was found. Connect one, then press “Try again”.',
  device_busy: 'Your camera or microphone is in use by another app (for example another video call). Close that app, then press “Try again”.',
  media_unsupported: 'This browser cannot make video calls. Please use an up-to-date Chrome, Edge, Firefox or Safari.',
  token_missing: 'This call link is incomplete. Open the full link you were sent.',
  token_invalid: 'This call link is not valid. Check that you copied the whole link, or ask for a new one.',
  token_expired: 'This call link has expired. Please ask for a new link.',
  room_not_found: 'This call does not exist or has already ended.',
  room_full: 'This call is full: the other participants are already connected.',
  origin_forbidden: 'This call cannot be joined from this website.',
  session_replaced: 'You joined this call from another tab or device, so this one was disconnected.',
  session_expired: 'Your connection was lost for too long, so the call ended. Open the link again to rejoin.',
  unsupported_version: 'This page is out of date. Please reload it.',
  connection_failed: 'Could not reach the call server. Check your internet connection and try again.',
  connection_lost: 'The connection to the call server was lost.',
  idle_timeout: 'The connection to the call server was lost.',
  slow_consumer: 'The connection to the call server was too slow and was closed.',
  rate_limited: 'Too many requests were sent to the call server. Please try again in a moment.',
  removed: 'The host removed you from this call. This link no longer works for it.',
  forbidden: 'Only the host can do that.',
  participant_not_found: 'That person is no longer in the call.',
};

/**
 * @param {unknown} error a PeercallError (or anything thrown)
 * @returns {string}
 */
export function describeError(error) {
  const code = error && typeof error === 'object' && 'code' in error ? String(error.code) : '';
  return ERROR_TEXT[code] ?? `Something went wrong${code ? ` (${code})` : ''}. Please try again.`;
}

/** Media errors the user can fix and retry without reloading. */
export const RETRYABLE_MEDIA_CODES = new Set(['permission_denied', 'no_device', 'device_busy']);

/**
 * Why the call ended, for the end screen.
 * @param {string} reason the `ended` event reason
 * @param {{byPeer?: string}} context `byPeer`: name of the peer who hung up, if they did
 * @returns {string}
 */
export function describeEnd(reason, { byPeer } = {}) {
  if (byPeer !== undefined) return `${byPeer || 'The other person'} ended the call.`;
  switch (reason) {
    case 'hangup': return 'You left the call.';
    case 'room_ended': return 'The call was closed by the organiser.';
    case 'replaced': return ERROR_TEXT.session_replaced;
    case 'disconnected': return ERROR_TEXT.connection_lost;
    case 'timeout': return ERROR_TEXT.session_expired;
    case 'removed': return ERROR_TEXT.removed;
    default: return '';
  }
}

/**
 * Status line for the remote connection state.
 * @param {RTCPeerConnectionState} state
 * @returns {string}
 */
export function describeConnectionState(state) {
  switch (state) {
    case 'connected': return 'Connected';
    case 'disconnected': return RECONNECTING_MEDIA_TEXT;
    case 'failed': return RECONNECTING_MEDIA_TEXT;
    default: return 'Connecting…';
  }
}

export const WAITING_TEXT = 'Waiting for the other person…';
export const RECONNECTING_TEXT = 'Reconnecting to the call server…';
export const RECONNECTING_MEDIA_TEXT = 'Reconnecting…';
export const RECONNECTED_TEXT = 'Reconnected';

/** @param {string} name */
export const peerReconnectingText = (name) => `${name || 'The other person'} is reconnecting…`;

/** @param {string} name */
export const peerLostText = (name) => `The connection to ${name || 'the other person'} was lost for too long, so the call ended.`;

/** @param {string} name */
export const peerLeftText = (name) => `${name || 'The other person'} left the call`;

/** @param {string} name */
export const peerRemovedText = (name) => `${name || 'The other person'} was removed from the call`;

/**
 * Fixed texts of the call controls, applied to elements marked `data-text="key"` (their
 * content) or `data-label="key"` (their aria-label).
 * @type {Record<string, string>}
 */
export const UI_TEXT = {
  muteMic: 'Mute microphone',
  unmuteMic: 'Unmute microphone',
  cameraOff: 'Turn camera off',
  cameraOn: 'Turn camera on',
  shareStart: 'Share your screen',
  shareStop: 'Stop sharing your screen',
  devices: 'Choose microphone, camera and speaker',
  devicesTitle: 'Devices',
  microphone: 'Microphone',
  camera: 'Camera',
  speaker: 'Speaker',
  close: 'Close',
  remoteMuted: 'Microphone off',
  hostMenu: 'Moderate this participant',
  hostMute: 'Mute microphone',
  hostCameraOff: 'Turn camera off',
  hostStopShare: 'Stop screen share',
  hostAskUnmute: 'Ask to unmute',
  hostAskVideo: 'Ask to turn camera on',
  hostRemove: 'Remove from call',
  hostRemoveConfirm: 'Yes, remove',
  accept: 'Yes',
  decline: 'Not now',
  noDevice: 'None found',
};

/** @param {string} name who acted @param {string} action the moderation action */
export function moderatedText(name, action) {
  const who = name || 'The host';
  switch (action) {
    case 'mute_audio': return `${who} muted your microphone. You can unmute when you need to speak.`;
    case 'disable_video': return `${who} turned your camera off.`;
    case 'stop_screen': return `${who} stopped your screen share.`;
    case 'unmute_audio': return `${who} unmuted your microphone.`;
    case 'enable_video': return `${who} turned your camera on.`;
    default: return '';
  }
}

/** @param {string} name who asks @param {string} action `ask_unmute` or `ask_video` */
export function requestText(name, action) {
  const who = name || 'The host';
  return action === 'ask_video' ? `${who} asks you to turn your camera on.` : `${who} asks you to unmute your microphone.`;
}

/** @param {string} action what the host asked for */
export const requestAcceptText = (action) => (action === 'ask_video' ? 'Turn camera on' : 'Unmute');

/** @param {string} action the request we sent @param {string} name to whom */
export const requestSentText = (action, name) =>
  `Asked ${name || 'the other person'} to ${action === 'ask_video' ? 'turn the camera on' : 'unmute'}.`;

/**
 * @param {'audioinput' | 'videoinput' | 'audiooutput'} kind
 * @param {{label: string} | null} fallback the device that took over
 */
export function deviceLostText(kind, fallback) {
  const what = kind === 'audioinput' ? 'microphone' : kind === 'videoinput' ? 'camera' : 'speaker';
  if (!fallback) return `Your ${what} was disconnected and no other one was found.`;
  return `Your ${what} was disconnected. Now using ${fallback.label || `the default ${what}`}.`;
}

/** @param {string} name display name @returns {string} one or two initials */
export function initials(name) {
  const words = name.trim().split(/\s+/).filter(Boolean);
  if (words.length === 0) return '?';
  const first = [...words[0]][0] ?? '';
  const last = words.length > 1 ? [...words[words.length - 1]][0] ?? '' : '';
  return (first + last).toUpperCase();
}
