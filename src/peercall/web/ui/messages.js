/**
 * User-facing texts for SDK error codes, end reasons and call states, in the page's
 * language (see i18n.js; the wording itself lives in `locales/`).
 */

import { t } from './i18n.js';

/**
 * @param {unknown} error a PeercallError (or anything thrown)
 * @returns {string}
 */
export function describeError(error) {
  const code = error && typeof error === 'object' && 'code' in error ? String(error.code) : '';
  const text = t(`error.${code}`);
  return text !== `error.${code}` && code ? text : t('error.unknown', { code: code ? ` (${code})` : '' });
}

/** Media errors the user can fix and retry without reloading. */
export const RETRYABLE_MEDIA_CODES = new Set(['permission_denied', 'no_device', 'device_busy']);

/** @param {string} name @returns {string} the name, or "The other person" */
const someone = (name) => name || t('otherPerson');

/**
 * Why the call ended, for the end screen.
 * @param {string} reason the `ended` event reason
 * @param {{byPeer?: string}} context `byPeer`: name of the peer who hung up, if they did
 * @returns {string}
 */
export function describeEnd(reason, { byPeer } = {}) {
  if (byPeer !== undefined) return t('endedByPeer', { name: someone(byPeer) });
  switch (reason) {
    case 'hangup': return t('endedHangup');
    case 'room_ended': return t('endedRoom');
    case 'replaced': return t('error.session_replaced');
    case 'disconnected': return t('error.connection_lost');
    case 'timeout': return t('error.session_expired');
    case 'removed': return t('error.removed');
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
    case 'connected': return t('connected');
    case 'disconnected': return RECONNECTING_MEDIA_TEXT;
    case 'failed': return RECONNECTING_MEDIA_TEXT;
    default: return t('connecting');
  }
}

export const WAITING_TEXT = t('waiting');
export const RECONNECTING_TEXT = t('reconnectingServer');
export const RECONNECTING_MEDIA_TEXT = t('reconnecting');
export const RECONNECTED_TEXT = t('reconnected');

/** @param {string} name */
export const peerReconnectingText = (name) => t('peerReconnecting', { name: someone(name) });

/** @param {string} name */
export const peerLostText = (name) => t('peerLost', { name: name || t('otherPersonLower') });

/** @param {string} name */
export const peerLeftText = (name) => t('peerLeft', { name: someone(name) });

/** @param {string} name */
export const peerRemovedText = (name) => t('peerRemoved', { name: someone(name) });

/**
 * Fixed texts of the call controls (also applied to `data-text` / `data-label` elements).
 * @type {Record<string, string>}
 */
export const UI_TEXT = Object.fromEntries(
  [
    'muteMic', 'unmuteMic', 'cameraOff', 'cameraOn', 'shareStart', 'shareStop', 'devices', 'devicesTitle',
    'microphone', 'camera', 'speaker', 'close', 'remoteMuted', 'hostMenu', 'hostMute', 'hostCameraOff',
    'hostStopShare', 'hostAskUnmute', 'hostAskVideo', 'hostRemove', 'hostRemoveConfirm', 'accept', 'decline',
    'noDevice',
  ].map((key) => [key, t(key)]),
);

/** @type {Record<string, string>} */
const MODERATED = {
  mute_audio: 'moderatedMute', disable_video: 'moderatedCameraOff', stop_screen: 'moderatedStopShare',
  unmute_audio: 'moderatedUnmute', enable_video: 'moderatedCameraOn',
};

/** @param {string} name who acted @param {string} action the moderation action */
export function moderatedText(name, action) {
  const key = MODERATED[action];
  return key ? t(key, { name: name || t('theHost') }) : '';
}

/** @param {string} name who asks @param {string} action `ask_unmute` or `ask_video` */
export function requestText(name, action) {
  return t(action === 'ask_video' ? 'askVideo' : 'askUnmute', { name: name || t('theHost') });
}

/** @param {string} action what the host asked for */
export const requestAcceptText = (action) => t(action === 'ask_video' ? 'acceptVideo' : 'acceptUnmute');

/** @param {string} action the request we sent @param {string} name to whom */
export const requestSentText = (action, name) =>
  t(action === 'ask_video' ? 'askedVideo' : 'askedUnmute', { name: name || t('otherPersonAsked') });

/**
 * @param {'audioinput' | 'videoinput' | 'audiooutput'} kind
 * @param {{label: string} | null} fallback the device that took over
 */
export function deviceLostText(kind, fallback) {
  const what = t(kind === 'audioinput' ? 'deviceMicrophone' : kind === 'videoinput' ? 'deviceCamera' : 'deviceSpeaker');
  if (!fallback) return t('deviceLostNone', { what });
  return t('deviceLostFallback', { what, label: fallback.label || t('deviceDefault', { what }) });
}

/** @param {string} name display name @returns {string} one or two initials */
export function initials(name) {
  const words = name.trim().split(/\s+/).filter(Boolean);
  if (words.length === 0) return '?';
  const first = [...words[0]][0] ?? '';
  const last = words.length > 1 ? [...words[words.length - 1]][0] ?? '' : '';
  return (first + last).toUpperCase();
}
