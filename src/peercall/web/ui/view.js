/**
 * The DOM of the call page: element lookup by `data-testid` and small rendering helpers.
 * No call logic lives here.
 */

import { lang, t, translatePage } from './i18n.js';

/** @typedef {'join' | 'call' | 'ended'} Screen */

const NOTICE_MS = 6_000;

/**
 * @param {ParentNode} root
 * @param {string} id
 * @returns {any}
 */
function byTestId(root, id) {
  const el = root.querySelector(`[data-testid="${id}"]`);
  if (!el) throw new Error(`peercall UI: missing element [data-testid="${id}"]`);
  return el;
}

/**
 * The parts of one remote member's tile (the first tile, or a clone of it in a group call).
 * @param {HTMLElement} tile
 */
export function tileParts(tile) {
  const q = (/** @type {string} */ id) => byTestId(tile, id);
  return {
    tile,
    video: /** @type {HTMLVideoElement} */ (q('remote-video')),
    avatar: q('remote-avatar'), initials: q('remote-initials'), bar: q('remote-tile-bar'),
    muted: q('remote-muted'), name: q('remote-name'),
    menuButton: /** @type {HTMLButtonElement} */ (q('host-menu-button')), menu: q('host-menu'),
  };
}

/** @typedef {ReturnType<typeof tileParts>} TileParts */

export class View {
  /** @param {Document} doc */
  constructor(doc) {
    const q = (/** @type {string} */ id) => byTestId(doc, id);
    this.app = /** @type {HTMLElement} */ (doc.querySelector('.pc-app'));
    this.screens = { join: q('join-screen'), call: q('call-screen'), ended: q('ended-screen') };
    this.error = q('error');
    this.identity = q('identity');
    this.mediaNote = q('media-note');
    this.joinButton = /** @type {HTMLButtonElement} */ (q('join-button'));
    this.retryMediaButton = /** @type {HTMLButtonElement} */ (q('retry-media-button'));
    this.localVideo = /** @type {HTMLVideoElement} */ (q('local-video'));
    this.remoteVideo = /** @type {HTMLVideoElement} */ (q('remote-video'));
    this.status = q('status');
    this.timer = q('call-timer');
    this.unmuteButton = /** @type {HTMLButtonElement} */ (q('unmute-button'));
    this.micButton = /** @type {HTMLButtonElement} */ (q('mic-button'));
    this.cameraButton = /** @type {HTMLButtonElement} */ (q('camera-button'));
    this.hangupButton = /** @type {HTMLButtonElement} */ (q('hangup-button'));
    this.endedTitle = /** @type {HTMLElement} */ (doc.getElementById('pc-ended-title'));
    this.endedDetail = q('ended-detail');
    this.endedDuration = q('ended-duration');
    this.rejoinButton = /** @type {HTMLButtonElement} */ (q('rejoin-button'));
    this.screenButton = /** @type {HTMLButtonElement} */ (q('screen-button'));
    this.devicesButton = /** @type {HTMLButtonElement} */ (q('devices-button'));
    this.devicesPanel = q('devices-panel');
    this.devicesClose = /** @type {HTMLButtonElement} */ (q('devices-close'));
    this.micSelect = /** @type {HTMLSelectElement} */ (q('mic-select'));
    this.cameraSelect = /** @type {HTMLSelectElement} */ (q('camera-select'));
    this.speakerSelect = /** @type {HTMLSelectElement} */ (q('speaker-select'));
    this.speakerField = q('speaker-field');
    this.stage = /** @type {HTMLElement} */ (doc.querySelector('.pc-stage'));
    this.grid = /** @type {HTMLElement} */ (q('remote-grid'));
    /** The first remote tile (the 1:1 layout's only one); more are cloned from it. */
    this.remote = tileParts(q('remote-tile'));
    this.localAvatar = q('local-avatar');
    this.localInitials = q('local-initials');
    this.notice = q('notice');
    this.prompt = { box: q('moderation-prompt'), text: q('prompt-text'), accept: q('prompt-accept'), decline: q('prompt-decline') };
    /** @type {ReturnType<typeof setTimeout> | undefined} */
    this.noticeTimer = undefined;
    translatePage(doc);
    doc.documentElement.lang = lang;
    doc.title = t('pageTitle');
    this.slots = {
      preview: /** @type {HTMLElement} */ (doc.querySelector('[data-slot="preview"]')),
      pip: /** @type {HTMLElement} */ (doc.querySelector('[data-slot="pip"]')),
    };
  }

  /** @param {Screen} screen */
  show(screen) {
    for (const [name, el] of Object.entries(this.screens)) el.hidden = name !== screen;
    this.app.dataset.view = screen;
    // One local <video> element moves between the preview and the picture-in-picture slot.
    const slot = screen === 'call' ? this.slots.pip : this.slots.preview;
    if (this.localVideo.parentElement !== slot) slot.append(this.localVideo);
    if (screen === 'ended') this.localVideo.srcObject = null;
    // Keep keyboard and screen-reader focus on the visible screen.
    const active = document.activeElement;
    if (!active || active === document.body || active.closest('[hidden]')) {
      const target = screen === 'call' ? this.hangupButton : screen === 'ended' ? this.endedTitle : null;
      target?.focus({ preventScroll: true });
    }
  }

  /** @param {string} message empty string hides the error */
  showError(message) {
    this.error.textContent = message;
    this.error.hidden = !message;
  }

  /** @param {string} text */
  setStatus(text) {
    if (this.status.textContent !== text) this.status.textContent = text;
  }

  /** @param {string} text empty hides the note */
  setMediaNote(text) {
    this.mediaNote.textContent = text;
    this.mediaNote.hidden = !text;
  }

  /** @param {boolean} joining */
  setJoining(joining) {
    this.joinButton.disabled = joining;
    this.joinButton.textContent = t(joining ? 'joining' : 'join');
    this.joinButton.setAttribute('aria-busy', String(joining));
  }

  /**
   * @param {HTMLButtonElement} button
   * @param {boolean} off the device is muted/off
   * @param {string} offLabel label when on (action turns it off)
   * @param {string} onLabel label when off (action turns it on)
   */
  setToggle(button, off, offLabel, onLabel) {
    button.setAttribute('aria-pressed', String(off));
    button.setAttribute('aria-label', off ? onLabel : offLabel);
    button.classList.toggle('pc-off', off);
  }

  /** Show a short message over the call for a few seconds. @param {string} text empty hides it */
  showNotice(text) {
    clearTimeout(this.noticeTimer);
    this.notice.textContent = text;
    this.notice.hidden = !text;
    if (text) this.noticeTimer = setTimeout(() => { this.notice.hidden = true; }, NOTICE_MS);
  }

  /**
   * @param {HTMLVideoElement} video
   * @param {MediaStream | null} stream
   */
  attach(video, stream) {
    if (video.srcObject === stream) return;
    video.srcObject = stream;
  }
}
