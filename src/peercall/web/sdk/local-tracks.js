/**
 * The tracks we send and how they reach every peer connection: the microphone, the video
 * source (camera, or a track the app supplies) and a screen share.
 *
 * Every change goes through `RTCRtpSender.replaceTrack`: no renegotiation, and changing
 * one medium never interrupts the other. Only a kind we never sent before (e.g. sharing
 * a screen after joining without a camera) turns a receive-only transceiver into a
 * sending one, which renegotiates that connection.
 *
 * The local stream always holds what we send: the mic track and the video source (the
 * screen while sharing; the camera, or its *ended* track while it is off, so that a
 * connection created later still gets a video sender to fill in when the camera comes
 * back). Connections created later take their tracks from that stream.
 *
 * Not serialized and no events: {@link import('./media-controls.js').MediaControls}
 * runs one operation at a time and announces the result.
 *
 * @module local-tracks
 */

import { acquireScreen, acquireTrack, deviceIdOf } from './devices.js';
import { ErrorCode, PeercallError } from './errors.js';

/**
 * @typedef {import('./events.js').MediaState} MediaState
 * @typedef {'audio' | 'video'} Kind
 */

export class LocalTracks {
  #stream;
  #connections;
  #onEnded;
  /** @type {MediaStreamTrack | null} */
  #mic = null;
  #muted = false;
  /** @type {MediaStreamTrack | null} the video source; ended while the camera is off */
  #camera = null;
  #cameraOn = false;
  /** @type {MediaStreamTrack | null} */
  #screen = null;
  #cameraBeforeShare = false;
  /** @type {Record<Kind, MediaTrackConstraints>} settings kept across device switches */
  #constraints = { audio: {}, video: {} };
  /** @type {Record<Kind, string>} device chosen by the user ('' = default) */
  #preferred = { audio: '', video: '' };
  /** @type {WeakSet<MediaStreamTrack>} tracks the app supplied (no device to watch) */
  #appTracks = new WeakSet();

  /**
   * @param {MediaStream | null} stream the call's local stream (null: receive-only)
   * @param {() => RTCPeerConnection[]} connections
   * @param {(kind: Kind, track: MediaStreamTrack, screen: boolean) => void} onEnded a track's
   *   source went away by itself (device unplugged, permission revoked, the browser's
   *   "Stop sharing" button): pass it to {@link LocalTracks#replaceLost}
   */
  constructor(stream, connections, onEnded) {
    this.#stream = stream;
    this.#connections = connections;
    this.#onEnded = onEnded;
    const [mic] = stream?.getAudioTracks() ?? [];
    const [camera] = stream?.getVideoTracks() ?? [];
    if (mic) this.#adopt(mic);
    if (camera) this.#adopt(camera);
    this.#muted = Boolean(mic && !mic.enabled);
    this.#cameraOn = Boolean(camera && camera.readyState === 'live');
  }

  /** @returns {Readonly<MediaState>} */
  get state() {
    return Object.freeze({
      audio: !this.#mic ? 'none' : this.#muted ? 'muted' : 'on',
      video: this.#cameraOn ? 'on' : this.#camera ? 'off' : 'none',
      screen: this.#screen !== null,
    });
  }

  /** @returns {{microphone: string, camera: string}} device ids in use (or chosen, while off) */
  get devices() {
    return { microphone: deviceIdOf(this.#mic), camera: this.#cameraOn ? deviceIdOf(this.#camera) : this.#preferred.video };
  }

  /** @param {Kind} kind @returns {MediaStreamTrack | null} the live capture track of a device */
  live(kind) {
    const track = kind === 'audio' ? this.#mic : this.#cameraOn ? this.#camera : null;
    return track?.readyState === 'live' && !this.#appTracks.has(track) ? track : null;
  }

  /** @param {boolean} muted */
  setMuted(muted) {
    this.#muted = muted;
    if (this.#mic) this.#mic.enabled = !muted;
  }

  async unmute() {
    if (!this.#mic || this.#mic.readyState === 'ended') await this.#use(await this.#open('audio', this.#preferred.audio));
    this.setMuted(false);
  }

  async cameraOff() {
    this.#cameraBeforeShare = false;
    if (!this.#cameraOn) return;
    this.#cameraOn = false;
    await this.#send('video');
    this.#camera?.stop();
  }

  async cameraOn() {
    if (this.#cameraOn) return;
    if (this.#screen) await this.stopShare();
    if (!this.#cameraOn) await this.#use(await this.#open('video', this.#preferred.video));
  }

  /**
   * Choose a device; applied at once when that device is in use, else on the next "on".
   * @param {Kind} kind @param {string} deviceId
   */
  async select(kind, deviceId) {
    this.#preferred[kind] = deviceId;
    if (kind === 'audio' ? this.#mic : this.#cameraOn) await this.#use(await this.#open(kind, deviceId));
  }

  /** Send a track the app made (canvas, processed) as the mic or the video source. @param {MediaStreamTrack} track */
  async use(track) {
    this.#appTracks.add(track);
    await this.#use(track);
  }

  /** Make `track` the mic or the video source, send it, stop the one it replaces. @param {MediaStreamTrack} track */
  async #use(track) {
    const kind = /** @type {Kind} */ (track.kind);
    if (kind === 'video' && this.#screen) {
      this.#cameraBeforeShare = false;
      await this.stopShare();
    }
    const old = kind === 'audio' ? this.#mic : this.#camera;
    this.#adopt(track);
    if (kind === 'audio') track.enabled = !this.#muted;
    else this.#cameraOn = track.readyState === 'live';
    await this.#send(kind);
    if (old && old !== track) old.stop();
  }

  async startShare() {
    if (this.#screen) return;
    this.#requireStream();
    const screen = await acquireScreen();
    screen.addEventListener('ended', () => this.#onEnded('video', screen, true));
    this.#cameraBeforeShare = this.#cameraOn;
    this.#screen = screen;
    await this.#send('video');
    if (this.#cameraOn) this.#camera?.stop();
    this.#cameraOn = false;
  }

  /** Stop sharing; restore the camera if it was on. @param {MediaStreamTrack} [which] only this share */
  async stopShare(which) {
    const screen = this.#screen;
    if (!screen || (which && which !== screen)) return;
    this.#screen = null;
    /** @type {unknown} */
    let failure = null;
    if (this.#cameraBeforeShare) {
      this.#cameraBeforeShare = false;
      try {
        await this.#use(await this.#open('video', this.#preferred.video));
      } catch (err) {
        failure = err; // sharing stops anyway; the camera stays off
      }
    }
    if (!this.#cameraOn) await this.#send('video');
    screen.stop();
    if (failure) throw failure;
  }

  /**
   * A device went away: switch to the default one. Ignored when `track` is no longer in use.
   * @param {Kind} kind @param {MediaStreamTrack} track
   * @returns {Promise<{deviceId: string, label: string, fallback: {deviceId: string, label: string} | null} | null>}
   */
  async replaceLost(kind, track) {
    if (track === this.#screen) {
      await this.stopShare(track);
      return null;
    }
    if (track !== (kind === 'audio' ? this.#mic : this.#cameraOn ? this.#camera : null)) return null;
    const deviceId = deviceIdOf(track) || this.#preferred[kind];
    this.#preferred[kind] = '';
    /** @type {MediaStreamTrack | null} */
    let fallback = null;
    try {
      fallback = await acquireTrack(kind, { constraints: this.#constraints[kind] });
    } catch {
      // no other device
    }
    if (fallback) {
      await this.#use(fallback);
    } else {
      if (kind === 'audio') this.#mic = null;
      else this.#cameraOn = false;
      await this.#send(kind);
    }
    track.stop();
    return { deviceId, label: track.label, fallback: fallback ? { deviceId: deviceIdOf(fallback), label: fallback.label } : null };
  }

  /** Release the screen share (the call ended); other tracks belong to the stream's owner. */
  dispose() {
    this.#screen?.stop();
  }

  /**
   * Open a device, falling back to the default one when it is gone.
   * @param {Kind} kind @param {string} deviceId @returns {Promise<MediaStreamTrack>}
   */
  async #open(kind, deviceId) {
    this.#requireStream();
    try {
      return await acquireTrack(kind, { deviceId, constraints: this.#constraints[kind] });
    } catch (err) {
      if (!deviceId || /** @type {PeercallError} */ (err).code !== ErrorCode.NoDevice) throw err;
      return acquireTrack(kind, { constraints: this.#constraints[kind] });
    }
  }

  /** @param {MediaStreamTrack} track */
  #adopt(track) {
    const kind = /** @type {Kind} */ (track.kind);
    if (kind === 'audio') this.#mic = track;
    else this.#camera = track;
    const { deviceId: _, ...constraints } = track.getConstraints?.() ?? {};
    if (Object.keys(constraints).length) this.#constraints[kind] = constraints;
    track.addEventListener('ended', () => this.#onEnded(kind, track, false));
  }

  /** Put the current track of `kind` into the local stream and on every connection. @param {Kind} kind */
  async #send(kind) {
    const inStream = kind === 'audio' ? this.#mic : this.#screen ?? this.#camera;
    const sending = kind === 'audio' ? this.#mic : this.#screen ?? (this.#cameraOn ? this.#camera : null);
    const stream = this.#stream;
    if (stream) {
      for (const t of kind === 'audio' ? stream.getAudioTracks() : stream.getVideoTracks()) if (t !== inStream) stream.removeTrack(t);
      if (inStream && !stream.getTracks().includes(inStream)) stream.addTrack(inStream);
    }
    await Promise.all(this.#connections().map((pc) => sendOn(pc, kind, sending, stream)));
  }

  #requireStream() {
    if (!this.#stream) throw new PeercallError(ErrorCode.InvalidArgument, 'This call was joined without local media.');
  }
}

/**
 * Send `track` (null: nothing) as the `kind` of one connection.
 * @param {RTCPeerConnection} pc @param {Kind} kind
 * @param {MediaStreamTrack | null} track @param {MediaStream | null} stream
 */
async function sendOn(pc, kind, track, stream) {
  if (pc.signalingState === 'closed') return;
  const all = pc.getTransceivers().filter((t) => t.currentDirection !== 'stopped' && t.receiver.track.kind === kind);
  const tr = all.find((t) => t.sender.track) ?? all[0];
  if (!tr) {
    // A connection still waiting for the first offer adds its tracks from the stream later.
    if (track && stream && pc.getTransceivers().length > 0) pc.addTrack(track, stream);
    return;
  }
  if (tr.sender.track === track) return;
  const receiveOnly = tr.direction === 'recvonly' || tr.direction === 'inactive';
  if (receiveOnly && !tr.currentDirection) return; // being negotiated: its tracks come from the stream
  try {
    await tr.sender.replaceTrack(track);
  } catch (err) {
    console.warn('[peercall] replaceTrack failed', err);
    return;
  }
  if (track && receiveOnly && stream) {
    tr.sender.setStreams?.(stream);
    tr.direction = tr.direction === 'recvonly' ? 'sendrecv' : 'sendonly';
  }
}
