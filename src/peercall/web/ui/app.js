/**
 * The peercall call page (`/call#token=<JWT>[&autojoin=1]`), built only on the public SDK.
 *
 * Flow: read the link → camera/mic preview → "Join call" → call view → end screen.
 * Debugging/embedding hook: the live Call object is exposed as `window.peercallCall`.
 */

import { CallEvent, ErrorCode, getLocalMedia, join } from '/sdk/peercall.js';
import {
  RECONNECTED_TEXT, RECONNECTING_MEDIA_TEXT, RECONNECTING_TEXT, RETRYABLE_MEDIA_CODES, peerLostText, peerReconnectingText, WAITING_TEXT, describeConnectionState, describeEnd, describeError, peerLeftText,
  peerRemovedText,
} from './messages.js';
import { setupCollab } from './collab-ui.js';
import { setupEffects } from './effects-ui.js';
import { applyEmbedOptions, readEmbedOptions } from './embed-options.js';
import { setupEmbed } from './embed-ui.js';
import { setupGrid } from './grid.js';
import { t } from './i18n.js';
import { setupOwnMedia } from './own-media.js';
import { setupQualityBanner } from './quality-banner.js';
import { setupRecording } from './recording.js';
import { setupRemoteTile } from './remote-tile.js';
import { setupSnapshots } from './snapshots-ui.js';
import { setupStatsPanel } from './stats-panel.js';
import { CallTimer, formatDuration } from './timer.js';
import { decodeTokenClaims, readLinkParams } from './token.js';
import { View } from './view.js';

/** Join failures that retrying with the same link cannot fix. */
const FINAL_JOIN_CODES = new Set([
  ErrorCode.TokenMissing, ErrorCode.TokenInvalid, ErrorCode.TokenExpired, ErrorCode.RoomNotFound,
  ErrorCode.OriginForbidden, ErrorCode.UnsupportedVersion, ErrorCode.InsecureContext, ErrorCode.Removed,
]);

const view = new View(document);
const link = readLinkParams(location.hash);
const embedOptions = readEmbedOptions(location.hash, document);
/** Our display name, from the token (for our avatar's initials). */
let ownName = '';
/** @type {MediaStream | null} the preview stream, reused for the call (owned by this page) */
let localStream = null;
/** @type {import('/sdk/peercall.js').Call | null} */
let activeCall = null;
/** Camera/mic preview: resolves true when ready to join. */
let preview = Promise.resolve(false);
/** @type {Promise<void> | null} a join in flight */
let joining = null;
/** The host page's postMessage API when we are embedded (else null). */
const embed = setupEmbed(embedOptions, { join: joinFromHost, call: () => activeCall });

main();

async function main() {
  applyEmbedOptions(embedOptions, document);
  view.show('join');
  if (!link.token) return view.showError(describeError({ code: ErrorCode.TokenMissing }));
  const claims = decodeTokenClaims(link.token);
  if (!claims) return view.showError(describeError({ code: ErrorCode.TokenInvalid }));
  if (claims.name) view.identity.textContent = t('joinAs', { name: claims.name });
  ownName = claims.name;

  view.joinButton.addEventListener('click', () => startCall());
  view.retryMediaButton.addEventListener('click', () => startPreview());
  view.rejoinButton.addEventListener('click', () => location.reload());
  view.unmuteButton.addEventListener('click', () => {
    view.unmuteButton.hidden = true;
    for (const video of /** @type {NodeListOf<HTMLVideoElement>} */ (view.grid.querySelectorAll('video'))) {
      video.muted = false;
      video.play().catch(() => {});
    }
  });

  preview = startPreview();
  if ((await preview) && link.autojoin) await startCall();
}

/** Acquire camera/mic and show the preview. @returns {Promise<boolean>} ready to join */
async function startPreview() {
  view.showError('');
  view.retryMediaButton.hidden = true;
  view.joinButton.disabled = true;
  try {
    localStream = await acquireMedia();
  } catch (err) {
    view.showError(describeError(err));
    view.retryMediaButton.hidden = !RETRYABLE_MEDIA_CODES.has(/** @type {any} */ (err).code);
    return false;
  }
  view.attach(view.localVideo, localStream);
  view.joinButton.disabled = false;
  return true;
}

/** Camera and microphone; when one of them is missing, join with the other. */
async function acquireMedia() {
  try {
    return await getLocalMedia({ audio: true, video: true });
  } catch (err) {
    if (/** @type {any} */ (err).code !== ErrorCode.NoDevice) throw err;
    const fallbacks = /** @type {const} */ ([
      [{ audio: true, video: false }, t('noCamera')],
      [{ audio: false, video: true }, t('noMicrophone')],
    ]);
    for (const [constraints, note] of fallbacks) {
      try {
        const stream = await getLocalMedia(constraints);
        view.setMediaNote(note);
        return stream;
      } catch {
        // try the next one
      }
    }
    throw err;
  }
}

/** The host page's `join` command: after the preview, like the button; fails if not in the call. */
async function joinFromHost() {
  await preview;
  await startCall();
  if (!activeCall) throw Object.assign(new Error(view.error.textContent || 'could not join'), { code: 'join_failed' });
}

async function startCall() {
  if (activeCall || !localStream) return;
  joining ??= joinCall().finally(() => { joining = null; });
  await joining;
}

async function joinCall() {
  view.showError('');
  view.setJoining(true);
  let call;
  try {
    call = await join({ url: location.origin, token: link.token, localStream });
  } catch (err) {
    view.setJoining(false);
    view.showError(describeError(err));
    embed?.error(err);
    if (FINAL_JOIN_CODES.has(/** @type {any} */ (err).code)) view.joinButton.disabled = true;
    return;
  }
  activeCall = call;
  /** @type {any} */ (window).peercallCall = call;
  embed?.watch(call);
  runCall(call);
}

/** @param {import('/sdk/peercall.js').Call} call */
function runCall(call) {
  const timer = new CallTimer(view.timer);
  /** @type {import('/sdk/peercall.js').Peer | null} the person on the first tile (the only one in 1:1) */
  let remote = null;
  /** @type {string | undefined} name of the peer who hung up, when they did */
  let endedByPeer;
  /** @type {string | undefined} name of the peer whose connection was lost for good */
  let lostPeer;

  // The server's recorder (a room recorded by the server) is a member without a tile:
  // this 1:1 UI follows the one remote *person*; the REC indicator tells about the recorder.
  const isRecorder = (/** @type {string} */ peerId) => call.peers.get(peerId)?.role === 'recorder';
  /** True for events about someone other than the person this page shows. */
  const notOurs = (/** @type {string} */ peerId) => (remote ? peerId !== remote.peerId : isRecorder(peerId));
  const people = () => [...call.peers.values()].filter((p) => p.role !== 'recorder');

  view.show('call');
  view.setStatus(people().length > 0 ? describeConnectionState('new') : WAITING_TEXT);
  view.localVideo.play().catch(() => {});
  setupOwnMedia(call, view, ownName);
  setupRecording(call);
  setupEffects(call);
  const grid = setupGrid(call, view, { main: () => remote, play: playMedia });
  const tile = setupRemoteTile(call, view);
  setupSnapshots(call, view);
  setupCollab(call, document);
  setupQualityBanner(call, view.stage);
  setupStatsPanel(call, view.stage, /** @type {HTMLElement} */ (view.hangupButton.parentElement));
  /** The first tile shows `peer` (null: nobody); the other members get tiles of their own. */
  const showMain = (/** @type {import('/sdk/peercall.js').Peer | null} */ peer) => {
    const changed = remote?.identity !== peer?.identity;
    remote = peer;
    tile.show(peer);
    if (changed) {
      view.attach(view.remoteVideo, peer ? grid.streamOf(peer) : null);
      if (peer && view.remoteVideo.srcObject) playRemote();
    }
    grid.sync();
  };

  call.on(CallEvent.PeerJoined, ({ peer }) => {
    if (peer.role === 'recorder') return;
    if (remote && remote.identity !== peer.identity) {
      grid.sync(); // a group call: one more tile
      return;
    }
    showMain(peer);
    view.setStatus(describeConnectionState('new'));
  });
  call.on(CallEvent.RemoteTrack, ({ peerId, stream }) => {
    if (notOurs(peerId)) return;
    view.attach(view.remoteVideo, stream);
    playRemote();
  });
  /** Show "Reconnected" for a moment after a recovery, then the plain state. */
  let recovering = false;
  const showRecovered = () => {
    recovering = false;
    view.setStatus(RECONNECTED_TEXT);
    setTimeout(() => {
      if (!recovering && view.app.dataset.connection === 'connected') view.setStatus(describeConnectionState('connected'));
    }, 2_000);
  };
  call.on(CallEvent.ConnectionState, ({ peerId, state }) => {
    if (notOurs(peerId)) return;
    const wasBroken = view.app.dataset.connection === 'disconnected' || view.app.dataset.connection === 'failed';
    view.app.dataset.connection = state;
    if (state === 'connected' && (wasBroken || recovering)) showRecovered();
    else view.setStatus(describeConnectionState(state));
    if (state === 'connected') timer.start();
  });
  call.on(CallEvent.MediaRecovering, ({ peerId }) => {
    if (notOurs(peerId)) return;
    recovering = true;
    view.setStatus(RECONNECTING_MEDIA_TEXT);
  });
  call.on(CallEvent.MediaRecovered, ({ peerId, outcome }) => {
    if (notOurs(peerId)) return;
    if (outcome === 'recovered') showRecovered();
  });
  call.on(CallEvent.PeerReconnecting, ({ peerId, peer }) => {
    if (notOurs(peerId)) return;
    view.setStatus(peerReconnectingText(peer?.name ?? ''));
  });
  call.on(CallEvent.PeerReconnected, ({ peer }) => {
    if (peer?.role === 'recorder') return;
    if (peer && remote && peer.identity !== remote.identity) {
      grid.sync(); // another member of a group call (its peer id may be new)
      return;
    }
    if (peer) showMain(peer); // its peer id may be new (server restart)
    if (view.app.dataset.connection === 'connected') showRecovered();
  });
  call.on(CallEvent.PeerLeft, ({ peerId, reason, peer }) => {
    if (peer?.role === 'recorder') return;
    const name = peer?.name ?? '';
    const next = people()[0] ?? null;
    if (next && reason !== 'room_ended') {
      // A group call goes on: the next person moves to the first tile.
      if (!remote || peerId === remote.peerId) showMain(next);
      else grid.sync();
      view.showNotice(reason === 'removed' ? peerRemovedText(name) : peerLeftText(name));
      return;
    }
    if (remote && peerId !== remote.peerId) return;
    showMain(null);
    delete view.app.dataset.connection;
    if (reason === 'hangup') {
      // 1:1 call: when the other person hangs up, the call is over for us too.
      endedByPeer = peer?.name ?? '';
      call.leave('hangup');
    } else if (reason === 'timeout') {
      // Their network stayed down past the grace period: end cleanly, saying why.
      lostPeer = peer?.name ?? '';
      call.leave('hangup');
    } else if (reason === 'removed') {
      view.setStatus(peerRemovedText(peer?.name ?? ''));
    } else if (reason !== 'room_ended') {
      view.setStatus(peerLeftText(peer?.name ?? ''));
    }
  });
  call.on(CallEvent.Reconnecting, () => view.setStatus(RECONNECTING_TEXT));
  call.on(CallEvent.Reconnected, () => {
    const present = people();
    const peer = present.find((p) => p.identity === remote?.identity) ?? present[0];
    showMain(peer ?? null);
    if (!peer) view.setStatus(WAITING_TEXT);
    else if (view.app.dataset.connection === 'connected') showRecovered();
    else view.setStatus(describeConnectionState('new'));
  });
  call.on(CallEvent.Error, ({ error }) => {
    if (!error.fatal) console.warn(`[peercall] ${error.code}: ${error.message}`);
  });
  call.on(CallEvent.Ended, ({ reason, error }) => {
    timer.stop();
    for (const track of localStream?.getTracks() ?? []) track.stop();
    localStream = null;
    view.remoteVideo.srcObject = null;
    view.unmuteButton.hidden = true;
    view.show('ended');
    const detail = lostPeer !== undefined ? peerLostText(lostPeer) : describeEnd(reason, { byPeer: endedByPeer });
    view.endedDetail.textContent = detail || (error ? describeError(error) : '');
    if (timer.elapsedMs > 0) {
      view.endedDuration.textContent = t('callDuration', { duration: formatDuration(timer.elapsedMs) });
      view.endedDuration.hidden = false;
    }
    view.hangupButton.disabled = true;
    view.rejoinButton.hidden = reason === 'removed'; // the link no longer works for this room
  });
  view.hangupButton.addEventListener('click', () => call.leave('hangup'));
}

/** Play the first tile's media. */
function playRemote() {
  playMedia(view.remoteVideo);
}

/** Play a tile's media; when the browser blocks sound without a click, play muted. @param {HTMLVideoElement} video */
function playMedia(video) {
  video.play().catch((err) => {
    if (err?.name !== 'NotAllowedError') return; // e.g. AbortError when the source changes
    video.muted = true;
    view.unmuteButton.hidden = false;
    video.play().catch(() => {});
  });
}
