/**
 * `call.media`: our own microphone, camera, screen share and speaker during a call, and
 * carrying out a host's moderation commands.
 *
 * - Mute keeps the microphone open and sends silence (unmuting is instant); camera off
 *   *releases* the camera (the light goes out), camera on opens it again.
 * - Switching microphone or camera, or sending a track of the app's own, uses
 *   `RTCRtpSender.replaceTrack`: no renegotiation, no gap in the other medium.
 * - A screen share takes the camera's place and gives it back when it stops, also when
 *   the user ends it from the browser's "Stop sharing" bar.
 * - Hot-plug: when the device in use disappears, the default one takes over and a
 *   `deviceLost` event tells the app.
 * - Every change is announced to the room (`media-state`; the others get `peerMedia`),
 *   and once after joining and after every reconnection, so the server keeps the truth.
 *
 * Operations run one at a time, in call order; each resolves with the resulting state.
 * Tracks replaced by these operations are stopped, whoever opened them; a screen share
 * is stopped when the call ends.
 *
 * @example
 * await call.media.muteMic();
 * await call.media.cameraOff();                 // camera light goes out
 * const { cameras } = await call.media.listDevices();
 * await call.media.selectCamera(cameras[1].deviceId);
 * call.on(CallEvent.ModerationRequest, ({ action, accept, decline }) => (confirm(action) ? accept() : decline()));
 *
 * @module media-controls
 */

import { listDevices, setSinkId, speakerSelectionSupported, watchDevices } from './devices.js';
import { ErrorCode, PeercallError } from './errors.js';
import { CallEvent } from './events.js';
import { LocalTracks } from './local-tracks.js';
import { APPLIED, ASKED, toModerator } from './moderation.js';

/**
 * @typedef {import('./events.js').MediaState} MediaState
 * @typedef {import('./events.js').MediaChangeCause} MediaChangeCause
 * @typedef {import('./devices.js').DeviceList & {active: {microphone: string, camera: string, speaker: string}}} ActiveDeviceList
 */

/**
 * @typedef {object} MediaControlsInit
 * @property {MediaStream | null} stream the call's local stream (null: receive-only)
 * @property {() => RTCPeerConnection[]} connections the current peer connections
 * @property {(frame: Record<string, unknown>) => void} send a signaling frame
 * @property {(event: string, payload: any) => void} emit a Call event
 * @property {(event: string, listener: (payload: any) => void) => () => void} on subscribe to a Call event
 */

export class MediaControls {
  #init;
  #tracks;
  #speaker = '';
  /** @type {Set<HTMLMediaElement>} */
  #speakerElements = new Set();
  /** @type {Promise<unknown>} */
  #queue = Promise.resolve();
  #announced = '';
  #emitted = '';
  #disposed = false;
  /** @type {(() => void)[]} */
  #cleanups = [];

  /** @internal Created by the Call. @param {MediaControlsInit} init */
  constructor(init) {
    this.#init = init;
    this.#tracks = new LocalTracks(init.stream, init.connections, (kind, track, screen) => {
      void this.#run(screen ? 'screen_ended' : 'device_lost', () => this.#replaceLost(kind, track)).catch(() => {});
    });
    this.#emitted = JSON.stringify(this.state);
    this.#cleanups.push(
      watchDevices(() => void this.#run('device_lost', () => this.#devicesChanged()).catch(() => {})),
      init.on(CallEvent.Reconnected, () => this.#announce('reconnect', true)),
      init.on(CallEvent.Ended, () => this.#dispose()),
    );
    this.#announce('join', true); // the server assumes "all on" until told
  }

  /** @returns {Readonly<MediaState>} what we send now */
  get state() {
    return this.#tracks.state;
  }

  /** @returns {string} the speaker chosen with {@link MediaControls#setSpeaker} ('' = default) */
  get speaker() {
    return this.#speaker;
  }

  /** True where the browser can route sound to a chosen speaker (`setSinkId`). */
  get speakerSelectable() {
    return speakerSelectionSupported();
  }

  /** True where the browser can share a screen (`getDisplayMedia`; not on most phones). */
  get screenShareSupported() {
    return typeof navigator !== 'undefined' && typeof navigator.mediaDevices?.getDisplayMedia === 'function';
  }

  /** Mute the microphone: the others receive silence. @returns {Promise<MediaState>} */
  muteMic() {
    return this.#run('user', async () => this.#tracks.setMuted(true));
  }

  /** Unmute (reopens the microphone if it was lost). @returns {Promise<MediaState>} */
  unmuteMic() {
    return this.#run('user', () => this.#tracks.unmute());
  }

  /** Release the camera (the light goes out) and send no video. @returns {Promise<MediaState>} */
  cameraOff() {
    return this.#run('user', () => this.#tracks.cameraOff());
  }

  /**
   * Open the camera again and send it (ends a screen share).
   * @returns {Promise<MediaState>}
   * @throws {PeercallError} a media code (`permission_denied`, `no_device`, `device_busy`)
   */
  cameraOn() {
    return this.#run('user', () => this.#tracks.cameraOn());
  }

  /**
   * Switch the microphone mid-call; the mute state is kept.
   * @param {string} deviceId from {@link MediaControls#listDevices}
   * @returns {Promise<MediaState>}
   * @throws {PeercallError} a media code when the device cannot be opened (the old one stays)
   */
  selectMicrophone(deviceId) {
    return this.#run('user', () => this.#tracks.select('audio', deviceId));
  }

  /**
   * Switch the camera mid-call. While the camera is off (or a screen is shared) the
   * choice applies when it is turned on again.
   * @param {string} deviceId @returns {Promise<MediaState>}
   */
  selectCamera(deviceId) {
    return this.#run('user', () => this.#tracks.select('video', deviceId));
  }

  /**
   * Send a track of the app's own instead of the microphone or the camera (e.g. a
   * processed or canvas track). The SDK takes it over: it is stopped when replaced or
   * when the camera is turned off. @param {MediaStreamTrack} track @returns {Promise<MediaState>}
   */
  useTrack(track) {
    return this.#run('user', () => this.#tracks.use(track));
  }

  /**
   * Share a screen, window or tab in place of the camera (released meanwhile).
   * @returns {Promise<MediaState>}
   * @throws {PeercallError} `permission_denied` when the user cancels the browser's picker
   */
  startScreenShare() {
    return this.#run('user', () => this.#tracks.startShare());
  }

  /** Stop sharing; the camera comes back if it was on before. @returns {Promise<MediaState>} */
  stopScreenShare() {
    return this.#run('user', () => this.#tracks.stopShare());
  }

  /**
   * The devices, with labels, and the ids of those in use (`active`).
   * @returns {Promise<ActiveDeviceList>}
   */
  async listDevices() {
    return { ...(await listDevices()), active: { ...this.#tracks.devices, speaker: this.#speaker } };
  }

  /**
   * Play an element's sound on a chosen speaker.
   * @param {HTMLMediaElement} element e.g. the remote `<video>`
   * @param {string} deviceId from `listDevices().speakers` ('' = default)
   * @throws {PeercallError} `media_unsupported` where the browser cannot do it
   */
  async setSpeaker(element, deviceId) {
    await setSinkId(element, deviceId);
    this.#speaker = deviceId;
    this.#speakerElements.add(element);
  }

  /** @internal The Call hands over each `moderation` frame. @param {Record<string, any>} frame */
  handleModeration(frame) {
    const action = String(frame.action);
    const by = toModerator(frame.by);
    if (Object.hasOwn(APPLIED, action)) {
      const before = JSON.stringify(this.state);
      const op = APPLIED[/** @type {keyof typeof APPLIED} */ (action)];
      this.#run('moderation', () => this.#perform(op))
        .catch((error) => this.#init.emit(CallEvent.Error, { error }))
        .finally(() => this.#init.emit(CallEvent.Moderated, { action, by, changed: JSON.stringify(this.state) !== before }));
    } else if (Object.hasOwn(ASKED, action)) {
      const op = ASKED[/** @type {keyof typeof ASKED} */ (action)];
      let answered = false;
      const accept = () => {
        if (answered) return Promise.resolve(this.state);
        answered = true;
        return this.#run('moderation', () => this.#perform(op));
      };
      this.#init.emit(CallEvent.ModerationRequest, { action, by, accept, decline: () => { answered = true; } });
    }
  }

  /** @param {'muteMic' | 'unmuteMic' | 'cameraOff' | 'cameraOn' | 'stopScreenShare'} op */
  async #perform(op) {
    const tracks = this.#tracks;
    if (op === 'muteMic') tracks.setMuted(true);
    else if (op === 'unmuteMic') await tracks.unmute();
    else if (op === 'cameraOff') await tracks.cameraOff();
    else if (op === 'cameraOn') await tracks.cameraOn();
    else await tracks.stopShare();
  }

  /** @param {'audio' | 'video'} kind @param {MediaStreamTrack} track */
  async #replaceLost(kind, track) {
    const lost = await this.#tracks.replaceLost(kind, track);
    if (lost) this.#init.emit(CallEvent.DeviceLost, { kind: kind === 'audio' ? 'audioinput' : 'videoinput', ...lost });
  }

  /** Hot-plug: the device in use may be gone without its track ending (browser dependent). */
  async #devicesChanged() {
    const devices = await listDevices().catch(() => null);
    if (!devices) return;
    this.#init.emit(CallEvent.DevicesChanged, { devices });
    /** @param {import('./devices.js').MediaDeviceEntry[]} list @param {MediaStreamTrack | null} track */
    const gone = (list, track) => {
      const id = track?.getSettings().deviceId;
      return Boolean(id) && !list.some((d) => d.deviceId === id);
    };
    const mic = this.#tracks.live('audio');
    if (mic && gone(devices.microphones, mic)) await this.#replaceLost('audio', mic);
    const camera = this.#tracks.live('video');
    if (camera && gone(devices.cameras, camera)) await this.#replaceLost('video', camera);
    const speaker = this.#speaker;
    if (speaker && devices.speakers.length > 0 && !devices.speakers.some((d) => d.deviceId === speaker)) {
      this.#speaker = '';
      for (const element of this.#speakerElements) await setSinkId(element, '').catch(() => {});
      this.#init.emit(CallEvent.DeviceLost, { kind: 'audiooutput', deviceId: speaker, label: '', fallback: { deviceId: '', label: '' } });
    }
  }

  /**
   * Run one operation after the previous ones, then announce the resulting state.
   * @param {MediaChangeCause} cause @param {() => Promise<void>} operation @returns {Promise<MediaState>}
   */
  #run(cause, operation) {
    const result = this.#queue.then(async () => {
      if (this.#disposed) throw new PeercallError(ErrorCode.InvalidArgument, 'The call has ended.');
      try {
        await operation();
      } finally {
        this.#announce(cause);
      }
      return this.state;
    });
    this.#queue = result.catch(() => {});
    return result;
  }

  /** Tell the room (on a change, or `force`) and the app (on a change). @param {MediaChangeCause} cause @param {boolean} [force] */
  #announce(cause, force = false) {
    if (this.#disposed) return;
    const media = this.state;
    const key = JSON.stringify(media);
    if (force || key !== this.#announced) this.#init.send({ type: 'media-state', ...media });
    this.#announced = key;
    if (key === this.#emitted) return;
    this.#emitted = key;
    this.#init.emit(CallEvent.LocalMedia, { media, cause });
  }

  #dispose() {
    this.#disposed = true;
    for (const cleanup of this.#cleanups.splice(0)) cleanup();
    this.#tracks.dispose();
    this.#speakerElements.clear();
  }
}
