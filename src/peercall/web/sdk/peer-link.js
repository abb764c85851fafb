/**
 * One RTCPeerConnection to one remote peer, negotiated with the "perfect negotiation"
 * pattern (https://w3c.github.io/webrtc-pc/#perfect-negotiation-example):
 *
 * - `onnegotiationneeded` → offer. Glare (an offer arrives while we are making or holding
 *   one): the impolite side ignores the remote offer (`ignoreOffer`), the polite side
 *   abandons its own offer and answers.
 * - ICE candidates are trickled both ways; remote candidates that arrive before the remote
 *   description are buffered and added right after it is set.
 * - `restartIce()` renegotiates with fresh ICE credentials (perfect negotiation carries it).
 *
 * Rollback-free polite side. Chromium (verified on 156) permanently stops rendering the
 * remote video once a connection rolls back an applied local offer, explicitly or inside
 * setRemoteDescription. So the polite side sends its offer *before* applying it and applies
 * it only when the answer arrives; on glare it drops the unapplied offer, there is nothing
 * to roll back. The impolite side uses the textbook `setLocalDescription()` → send. Cost:
 * ICE gathering of a polite-initiated renegotiation starts one round trip later.
 *
 * Start-up rule of peercall (protocol v1): the *impolite* side (the newcomer) adds its
 * tracks at once and so makes the first offer; the *polite* side adds its tracks only after
 * applying that offer, so addTrack reuses the offered transceivers and the answer is
 * sendrecv without a second round trip.
 *
 * Incoming descriptions and candidates are processed strictly in arrival order.
 *
 * @module peer-link
 */

import { Emitter } from './emitter.js';
import { openDataChannels } from './data-channels.js';
import { ErrorCode, PeercallError } from './errors.js';
import { guardKeyFrames, requestKeyFrame } from './keyframe-guard.js';
import { OfferResender } from './offer-resend.js';

/**
 * Outgoing signaling for this link; `type` is `offer`, `answer` or `ice-candidate`.
 * @callback SendSignal
 * @param {{type: 'offer' | 'answer', sdp: string, reset?: boolean} | {type: 'ice-candidate', candidate: RTCIceCandidateInit | null}} message
 * @returns {void}
 */

/**
 * @typedef {object} PeerLinkOptions
 * @property {string} peerId the remote peer id
 * @property {boolean} polite
 * @property {RTCIceServer[]} iceServers
 * @property {MediaStream | null} localStream
 * @property {SendSignal} send
 * @property {boolean} [reset] this link replaces a broken one: its first offer tells the
 *   other side to replace its connection too (recovery ladder, last rung)
 * @property {boolean} [answerFirst] built because the other side replaced its connection:
 *   answer its reset offer first instead of offering (even when impolite), or the two new
 *   connections would glare
 * @property {RTCIceTransportPolicy} [iceTransportPolicy]
 */

/**
 * @typedef {object} PeerLinkEvents
 * @property {{track: MediaStreamTrack, stream: MediaStream}} track
 * @property {RTCPeerConnectionState} connectionstate
 * @property {PeercallError} error
 * @property {{requests: number, gapMs: number}} keyframerequest we asked the sender for a key
 *   frame because video resumed after a gap of `gapMs` (see keyframe-guard.js)
 */

/** @extends {Emitter<PeerLinkEvents>} */
export class PeerLink extends Emitter {
  #polite;
  #send;
  /** @type {MediaStream | null} */
  #localStream;
  #makingOffer = false;
  #ignoreOffer = false;
  /** @type {RTCSessionDescriptionInit | null} polite side: sent, not yet applied */
  #proposedOffer = null;
  /** Bumped whenever a remote description is applied; invalidates offers being created. */
  #epoch = 0;
  #tracksAdded = false;
  #closed = false;
  /** Our sending is held (the path is dead); see holdSending(). */
  #held = false;
  /** @type {(RTCIceCandidateInit | null)[]} */
  #pendingCandidates = [];
  /** @type {Promise<void>} */
  #inbox = Promise.resolve();
  /** @type {MediaStream | null} */
  #remoteStream = null;
  /** @type {RTCPeerConnectionState} */
  #state = 'new';

  #reset = false;
  /** A replacement link whose reset offer is not answered yet (see {@link PeerLink#renewing}). */
  #renewing = false;
  /** @type {RTCIceServer[]} */
  #iceServers;
  /** Our offer again when its answer does not come (see offer-resend.js). */
  #offers = new OfferResender({
    pending: () => !this.#closed && !this.#makingOffer && !this.#renewing && this.awaitingAnswer,
    currentSdp: () => this.#proposedOffer?.sdp ?? (this.pc.localDescription?.type === 'offer' ? this.pc.localDescription.sdp : null),
    send: (sdp) => this.#send({ type: 'offer', sdp }),
  });

  /** @param {PeerLinkOptions} options */
  constructor({ peerId, polite, iceServers, localStream, send, reset = false, answerFirst = false, iceTransportPolicy = 'all' }) {
    super();
    /** The remote peer id; changes when the peer rejoins after a server restart. */
    this.peerId = peerId;
    this.#polite = polite;
    this.#send = send;
    this.#localStream = localStream;
    this.#reset = reset;
    this.#renewing = reset;
    this.#iceServers = iceServers;
    /** @readonly */
    this.pc = new RTCPeerConnection({ iceServers, iceTransportPolicy, bundlePolicy: 'max-bundle', rtcpMuxPolicy: 'require' });
    const pc = this.pc;
    /** The pre-negotiated data channels (chat, files, …), open once the connection is. */
    this.channels = openDataChannels(pc);
    pc.onnegotiationneeded = () => this.#makeOffer();
    pc.onicecandidate = ({ candidate }) => {
      this.#send({ type: 'ice-candidate', candidate: candidate ? candidateInit(candidate) : null });
    };
    pc.ontrack = ({ track, streams, receiver }) => {
      guardKeyFrames(receiver, (info) => this.emit('keyframerequest', info));
      let stream = streams[0];
      if (!stream) {
        this.#remoteStream ??= new MediaStream();
        this.#remoteStream.addTrack(track);
        stream = this.#remoteStream;
      }
      this.emit('track', { track, stream });
    };
    pc.onconnectionstatechange = () => {
      const state = pc.connectionState;
      if (state === this.#state || this.#closed) return;
      this.#state = state;
      this.emit('connectionstate', state);
    };
    // The newcomer (impolite) offers at once; so does a link that replaces a broken one.
    if ((!polite || reset) && !answerFirst) this.#addLocalTracks(true);
  }

  /**
   * True while this link replaces a broken connection and the other side has not answered
   * its reset offer yet: any plain offer that arrives meanwhile was made for the connection
   * we threw away (e.g. buffered ICE restarts delivered when our signaling resumed), and a
   * reset offer from them means both sides renewed at once (the Call breaks that tie).
   */
  get renewing() {
    return this.#renewing;
  }

  /**
   * Stop (true) or resume (false) sending our media, keeping the tracks: while the path is
   * dead a sender only builds a backlog (see media-recovery.js `holdSendingAfterMs`).
   * Re-enabling a video encoding makes the encoder start with a key frame.
   * @param {boolean} held
   */
  holdSending(held) {
    this.#held = held;
    void this.#applyHold();
  }

  async #applyHold() {
    const active = !this.#held;
    for (const sender of this.pc.getSenders()) {
      if (this.#closed || this.#held !== !active) return; // closed, or changed meanwhile (its own call applies it)
      const params = sender.getParameters();
      if (!sender.track || !params.encodings?.length || params.encodings.every((e) => e.active === active)) continue;
      for (const encoding of params.encodings) encoding.active = active;
      try {
        await sender.setParameters(params);
      } catch {
        // Another setParameters (upload caps) or a negotiation was in flight: try again shortly.
        setTimeout(() => { if (this.#held === !active) void this.#applyHold(); }, 200);
        return;
      }
    }
  }

  /** Ask the other side for a key frame on every video we receive (after an outage). */
  requestKeyFrames() {
    for (const receiver of this.pc.getReceivers()) if (receiver.track?.kind === 'video') requestKeyFrame(receiver);
  }

  /**
   * Send our unanswered offer again (it may have been lost with a dead signaling socket;
   * see offer-resend.js, which also does it on a timer). Returns true when one was sent.
   * @param {number} [minAgeMs] only an offer sent at least this long ago
   */
  resendOffer(minAgeMs = 0) {
    return this.#offers.resend(minAgeMs);
  }

  /** True while an offer of ours waits for its answer. */
  get awaitingAnswer() {
    return this.#makingOffer || this.#proposedOffer !== null || this.pc.signalingState === 'have-local-offer';
  }

  /** True for the side that yields on glare. */
  get polite() {
    return this.#polite;
  }

  /** @returns {RTCPeerConnectionState} */
  get connectionState() {
    return this.#state;
  }

  /**
   * Apply a remote `offer` or `answer`.
   * @param {RTCSessionDescriptionInit} description
   */
  handleDescription(description) {
    this.#enqueue(() => this.#onDescription(description));
  }

  /**
   * Apply a remote trickled candidate (`null` = the remote side finished gathering).
   * @param {RTCIceCandidateInit | null} candidate
   */
  handleCandidate(candidate) {
    this.#enqueue(async () => {
      if (!this.pc.remoteDescription) {
        this.#pendingCandidates.push(candidate);
        return;
      }
      await this.#addCandidate(candidate);
    });
  }

  /**
   * Renegotiate with new ICE credentials (recovery after `failed`/network change).
   * @param {{relayOnly?: boolean}} [options] `relayOnly`: gather only TURN relay
   *   candidates from now on, TURN over TLS (`turns:`) first — the path strict networks
   *   leave open.
   * @returns {boolean} false when relay-only was asked but no TURN server is configured
   */
  restartIce({ relayOnly = false } = {}) {
    if (this.#closed) return false;
    if (relayOnly) {
      const turn = this.#iceServers.filter((server) => urlsOf(server).some((url) => url.startsWith('turn')));
      if (turn.length === 0) return false;
      const tlsFirst = [...turn].sort((a, b) => Number(hasTurns(b)) - Number(hasTurns(a)));
      this.pc.setConfiguration({ ...this.pc.getConfiguration(), iceServers: tlsFirst, iceTransportPolicy: 'relay' });
    }
    this.pc.restartIce();
    return true;
  }

  /** @returns {Promise<RTCStatsReport>} */
  getStats() {
    return this.pc.getStats();
  }

  /** Close the connection (idempotent). No more events are emitted. */
  close() {
    if (this.#closed) return;
    this.#closed = true;
    const pc = this.pc;
    pc.onnegotiationneeded = pc.onicecandidate = pc.ontrack = pc.onconnectionstatechange = null;
    this.#offers.stop();
    pc.close();
    this.#pendingCandidates.length = 0;
    this.removeAllListeners();
  }

  async #makeOffer() {
    if (this.#closed) return;
    // The polite side waits for the newcomer's first offer (its data channels alone need no offer of ours).
    if (this.#polite && !this.#tracksAdded) return;
    if (this.#polite) {
      await this.#proposeOffer();
      return;
    }
    try {
      this.#makingOffer = true;
      await this.pc.setLocalDescription();
      const local = this.pc.localDescription;
      // A remote offer may have been applied meanwhile; only a fresh offer is sent.
      if (!this.#closed && local && local.type === 'offer') this.#sendOffer(local.sdp);
    } catch (err) {
      this.#fail('Could not create an offer', err);
    } finally {
      this.#makingOffer = false;
    }
  }

  /**
   * Polite side: send an offer *before* applying it; it is applied when its answer
   * arrives. On glare the unapplied offer is dropped, so no rollback is ever needed.
   */
  async #proposeOffer() {
    const pc = this.pc;
    if (this.#proposedOffer || pc.signalingState !== 'stable') return;
    const epoch = this.#epoch;
    try {
      const offer = await pc.createOffer();
      // Overtaken by a remote offer meanwhile: negotiationneeded fires again if still needed.
      if (this.#closed || epoch !== this.#epoch || pc.signalingState !== 'stable' || this.#proposedOffer) return;
      this.#proposedOffer = { type: 'offer', sdp: offer.sdp };
      this.#sendOffer(/** @type {string} */ (offer.sdp));
    } catch (err) {
      this.#fail('Could not create an offer', err);
    }
  }

  /** @param {string} sdp */
  #sendOffer(sdp) {
    const reset = this.#reset;
    this.#reset = false;
    this.#offers.sent(reset ? '' : sdp);
    this.#send(reset ? { type: 'offer', sdp, reset: true } : { type: 'offer', sdp });
  }

  /** @param {RTCSessionDescriptionInit} description */
  async #onDescription(description) {
    const pc = this.pc;
    const isOffer = description.type === 'offer';
    /** @type {RTCSessionDescriptionInit | null} */
    let ownOffer = null;
    if (isOffer && this.#renewing) {
      this.#ignoreOffer = true; // meant for the connection we replaced; so are its candidates
      return;
    }
    if (isOffer) {
      const offerCollision = this.#makingOffer || pc.signalingState !== 'stable';
      this.#ignoreOffer = !this.#polite && offerCollision;
      if (this.#ignoreOffer) return;
      this.#proposedOffer = null; // polite: our unapplied offer loses the glare
    } else if (this.#proposedOffer) {
      ownOffer = this.#proposedOffer;
      this.#proposedOffer = null;
    } else if (pc.signalingState !== 'have-local-offer') {
      return; // stale or duplicate answer
    }
    this.#epoch += 1;
    try {
      if (ownOffer) await pc.setLocalDescription(ownOffer);
      // Would roll back an applied local offer implicitly; by construction that never happens.
      await pc.setRemoteDescription(description);
      if (!isOffer) this.#renewing = false;
      if (this.#closed) return;
      await this.#flushCandidates();
      if (!isOffer) return;
      if (!this.#tracksAdded) this.#addLocalTracks(false);
      await pc.setLocalDescription();
      const local = pc.localDescription;
      if (!this.#closed && local) this.#send({ type: 'answer', sdp: local.sdp });
    } catch (err) {
      this.#fail(`Could not apply the remote ${description.type}`, err);
      // The remote side may now hold our offer as applied; renegotiate from scratch.
      if (ownOffer && !this.#closed && pc.signalingState === 'stable') void this.#proposeOffer();
    }
  }

  /**
   * Add our tracks; reuse transceivers created by a remote offer, and make sure we can
   * receive both audio and video even when we send only one kind (or nothing).
   * @param {boolean} offering we make the offer, so we decide what we receive
   */
  #addLocalTracks(offering) {
    this.#tracksAdded = true;
    const stream = this.#localStream;
    const kinds = new Set();
    if (stream) {
      for (const track of stream.getTracks()) {
        this.pc.addTrack(track, stream);
        kinds.add(track.kind);
      }
    }
    if (!offering) return; // the remote offer decided what we receive
    for (const kind of ['audio', 'video']) {
      if (!kinds.has(kind)) this.pc.addTransceiver(kind, { direction: 'recvonly' });
    }
  }

  async #flushCandidates() {
    const pending = this.#pendingCandidates.splice(0);
    for (const candidate of pending) await this.#addCandidate(candidate);
  }

  /** @param {RTCIceCandidateInit | null} candidate */
  async #addCandidate(candidate) {
    try {
      if (candidate && candidate.candidate) await this.pc.addIceCandidate(candidate);
      else await this.pc.addIceCandidate(); // end of candidates
    } catch (err) {
      // Candidates of an offer we ignored, or end-of-candidates after a restart: harmless.
      if (!this.#ignoreOffer && candidate && candidate.candidate) this.#fail('Could not add a remote ICE candidate', err, false);
    }
  }

  /** @param {() => Promise<void>} task */
  #enqueue(task) {
    this.#inbox = this.#inbox
      .then(() => (this.#closed ? undefined : task()))
      .catch((err) => this.#fail('Signaling step failed', err));
  }

  /**
   * @param {string} what
   * @param {unknown} err
   * @param {boolean} [log]
   */
  #fail(what, err, log = true) {
    if (this.#closed) return;
    const detail = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
    if (log) console.warn(`[peercall] ${this.peerId}: ${what}: ${detail}`);
    this.emit('error', new PeercallError(ErrorCode.NegotiationFailed, `${what} (${detail})`, { cause: err }));
  }
}

/** @param {RTCIceServer} server @returns {string[]} */
const urlsOf = (server) => (Array.isArray(server.urls) ? server.urls : [server.urls]);
/** @param {RTCIceServer} server */
const hasTurns = (server) => urlsOf(server).some((url) => url.startsWith('turns:'));

/**
 * A candidate as sent on the wire: exactly the RTCIceCandidateInit members.
 * @param {RTCIceCandidate} c
 * @returns {RTCIceCandidateInit}
 */
function candidateInit(c) {
  return { candidate: c.candidate, sdpMid: c.sdpMid, sdpMLineIndex: c.sdpMLineIndex, usernameFragment: c.usernameFragment };
}
