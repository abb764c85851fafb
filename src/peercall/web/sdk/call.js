/**
 * The Call: one joined session in one room. It ties the signaling client to one
 * {@link PeerLink} per remote peer and turns everything into {@link CallEvent}s.
 *
 * Surviving network trouble: when the signaling socket is lost (or the network changes)
 * the Call *resumes* its session on a new socket (same peer id, missed frames replayed)
 * and falls back to *rejoining* with its token when the server no longer knows it (e.g.
 * restarted). The peer connections carry media throughout; after a rejoin they are kept
 * and re-addressed to the peers' new ids (matched by identity). Broken media paths are
 * repaired per peer by media-recovery.js.
 *
 * @module call
 */

import { Collab, collabSettings } from './collab.js';
import { CallStats } from './call-stats.js';
import { Emitter } from './emitter.js';
import { ErrorCode, PeercallError } from './errors.js';
import { CallEvent } from './events.js';
import { ActiveSpeaker } from './active-speaker.js';
import { MeshBandwidth } from './mesh-bandwidth.js';
import { MediaControls } from './media-controls.js';
import { stopStream } from './media.js';
import { watchNetwork } from './network.js';
import { CallLinks } from './call-links.js';
import { CallRecording } from './recorder.js';
import { moderateFrame } from './moderation.js';
import { Snapshots } from './snapshots.js';
import { VideoEffects } from './effects/index.js';
import { SessionReconnect, isReconnectable } from './reconnect.js';
import { toMedia, toPeer } from './wire.js';

export { CallEvent };

/**
 * @typedef {import('./events.js').Peer} Peer
 * @typedef {import('./events.js').SelfInfo} SelfInfo
 * @typedef {import('./events.js').CallEvents} CallEvents
 * @typedef {import('./events.js').LeaveReason} LeaveReason
 * @typedef {import('./events.js').EndReason} EndReason
 * @typedef {import('./signal-client.js').SignalClient} SignalClient
 * @typedef {{signal: SignalClient, joined: Record<string, any>}} Session
 */

/**
 * @typedef {object} CallInit
 * @property {Session} session a joined signaling client and the server's `joined` frame
 * @property {(abort?: AbortSignal) => Promise<Session>} connect opens a new session with the join token
 * @property {(resumeToken: string, lastSeq: number, abort?: AbortSignal) => Promise<Session>} resume takes a dropped session over
 * @property {import('./reconnect.js').ReconnectPolicy} reconnectPolicy
 * @property {import('./media-recovery.js').MediaRecoveryPolicy} [mediaRecoveryPolicy]
 * @property {MediaStream | null} localStream
 * @property {boolean} ownsLocalStream stop its tracks when the call ends
 * @property {RTCIceServer[] | undefined} iceServers override of the server's list
 * @property {string} httpBase the server's http(s) origin (REST uploads)
 * @property {string} token the join token (authorises uploads and REST calls made for the user)
 * @property {string} [httpUrl] the server's http(s) base URL (REST: recordings)
 */

/** Offers still unanswered this long after a resume (replay handled) are sent again. */
const RESEND_AFTER_RESUME_MS = 500;
const LEAVE_REASONS = new Set(['hangup', 'navigate', 'error']);

/** @param {PeercallError} error @returns {EndReason} */
const endReasonFor = (error) => ({ [ErrorCode.SessionReplaced]: 'replaced', [ErrorCode.RoomNotFound]: 'room_ended',
  [ErrorCode.ConnectionLost]: 'disconnected', [ErrorCode.ConnectionFailed]: 'disconnected',
  [ErrorCode.SessionExpired]: 'timeout', [ErrorCode.Removed]: 'removed' })[error.code] ?? 'error';

/**
 * A joined call. Create it with `join()`; do not construct it directly.
 * @extends {Emitter<CallEvents>}
 */
export class Call extends Emitter {
  /** @type {SignalClient} */
  #signal;
  /** @type {RTCIceServer[]} */
  #iceServers = [];
  /** @type {RTCIceTransportPolicy} */
  #iceTransportPolicy = 'all';
  #init;
  /** One connection per remote member: see {@link CallLinks}. */
  #links = new CallLinks({
    config: () => ({ iceServers: this.#iceServers, iceTransportPolicy: this.#iceTransportPolicy, localStream: this.localStream }),
    send: (frame) => this.#signal.send(frame),
    emit: (event, payload) => this.emit(/** @type {any} */ (event), payload),
    peer: (peerId) => this.#peers.get(peerId),
    canRecover: (peerId) => !this.#reconnecting && !this.#away.has(peerId)
      && (typeof navigator === 'undefined' || navigator.onLine !== false),
    replace: (peerId) => this.#replaceLink(peerId),
    changed: () => { if (!this.#ended) void this.bandwidth?.membershipChanged(); },
    recoveryPolicy: () => this.#init.mediaRecoveryPolicy,
    // Packets from a peer prove the network is back even when the browser did not say so
    // (no `online`/change event after a link came up): retry signaling now, not at the
    // next backoff step (seen: ~3 s later, and the other side's video waited for it).
    mediaResumed: () => { if (this.#reconnecting) this.#reconnect.hurry(); },
  });
  /** @type {Map<string, Readonly<Peer>>} */
  #peers = new Map();
  /** @type {Readonly<SelfInfo>} */
  #self;
  #ended = false;
  #reconnecting = false;
  /** @type {Set<string>} peers whose signaling is down (peer-reconnecting): they cannot answer now */
  #away = new Set();
  /** Highest `seq` of a server frame we processed (resume replays what follows). */
  #lastSeq = 0;
  /** @type {string | null} */
  #resumeToken = null;
  /** @type {SessionReconnect<Session>} the reconnect loop; network events hurry it */
  #reconnect = new SessionReconnect({
    policy: { nextRetryDelayMs: (info) => this.#init.reconnectPolicy.nextRetryDelayMs(info) },
    resume: (token, lastSeq, abort) => this.#init.resume(token, lastSeq, abort),
    connect: (abort) => this.#init.connect(abort),
    resumeToken: () => this.#resumeToken,
    forgetResume: () => { this.#resumeToken = null; },
    lastSeq: () => this.#lastSeq,
    cancelled: () => this.#ended,
  });
  #stopNetwork;
  #onPageHide = () => this.leave('navigate');
  /** @type {import('./collab.js').CollabSettings} */
  #collabSettings;
  #collab;

  /** @param {CallInit} init */
  constructor(init) {
    super();
    this.#init = init;
    this.#signal = init.session.signal;
    /** @type {MediaStream | null} the stream we send (null: receive only) */
    this.localStream = init.localStream;
    this.#self = this.#attach(init.session);
    /** What every feature module needs of the Call: signaling out, events out and in. */
    const bus = {
      send: (/** @type {Record<string, any>} */ frame) => this.#signal.send(frame),
      emit: (/** @type {string} */ event, /** @type {any} */ payload) => this.emit(/** @type {any} */ (event), payload),
      on: (/** @type {string} */ event, /** @type {(payload: any) => void} */ listener) => this.on(/** @type {any} */ (event), listener),
    };
    /** Recording the call: see {@link CallRecording}. */
    this.recording = new CallRecording({
      httpUrl: init.httpUrl ?? '',
      token: init.token ?? '',
      localStream: () => this.localStream,
      connections: () => this.#links.connections(),
      ...bus,
    });
    /** Our microphone, camera, screen share and speaker: see {@link MediaControls}. */
    this.media = new MediaControls({
      stream: this.localStream,
      connections: () => this.#links.connections(),
      ...bus,
    });
    /** Snapshots from live video (video-KYC): see {@link Snapshots}. */
    this.snapshots = new Snapshots({
      httpBase: init.httpBase,
      token: init.token,
      localStream: () => this.localStream,
      remoteVideo: (peerId) => this.#links.get(peerId)?.link.pc.getReceivers()
        .map((r) => r.track).find((t) => t?.kind === 'video' && t.readyState === 'live') ?? null,
      ...bus,
    });
    this.#collabSettings = collabSettings(init.session.joined);
    this.#collab = new Collab({
      self: () => this.#self,
      settings: () => this.#collabSettings,
      signal: (frame) => this.#signal.send(frame),
      error: (error) => this.emit(CallEvent.Error, { error }),
    });
    /** In-call text chat: see {@link import('./chat.js').Chat}. */
    this.chat = this.#collab.chat;
    /** File sharing: see {@link import('./file-transfer.js').FileTransfers}. */
    this.files = this.#collab.files;
    /** The shared whiteboard: see {@link import('./whiteboard.js').Whiteboard}. */
    this.whiteboard = this.#collab.whiteboard;
    /** Background blur/replacement, region masking, custom processors: see {@link VideoEffects}. */
    this.effects = new VideoEffects({
      connections: () => this.#links.connections(),
      localStream: () => this.localStream,
      emit: (event, payload) => this.emit(/** @type {any} */ (event), payload),
      send: (topic, payload) => this.send(topic, payload),
      onMessage: (topic, listener) => this.onMessage(topic, listener),
    });
    this.snapshots.registerEffects(this.effects.snapshotHook);
    /** Live statistics and network quality: see {@link CallStats}. */
    this.stats = new CallStats({
      connection: () => {
        const [peerId, entry] = this.#links.firstPerson() ?? [];
        return entry ? { peerId, pc: entry.link.pc } : null;
      },
      send: (frame) => { if (!this.#reconnecting) this.#signal.send(frame); },
      emit: (event, payload) => this.emit(/** @type {any} */ (event), payload),
    });
    /** Caps on our video senders for the size of the room: see {@link MeshBandwidth}. */
    this.bandwidth = new MeshBandwidth({
      connections: () => this.#links.connections(),
      changed: (plan) => this.emit(CallEvent.BandwidthPlan, { plan }),
    });
    /** Who is speaking now (group calls): see {@link ActiveSpeaker}. */
    this.activeSpeaker = new ActiveSpeaker({
      connections: () => new Map([...this.#links].map(([peerId, entry]) => [peerId, entry.link.pc])),
      changed: (payload) => this.emit(CallEvent.ActiveSpeaker, payload),
    });
    for (const peer of (init.session.joined.peers ?? []).map(toPeer)) this.#addPeer(peer, false);
    this.#stopNetwork = watchNetwork({
      online: () => this.#networkBack('offline'), // back online: the cause was being offline
      change: () => this.#networkBack('network_change'),
      offline: () => {},
    });
    if (typeof window !== 'undefined') window.addEventListener('pagehide', this.#onPageHide);
    // Peers already present are announced once the caller had a chance to subscribe.
    const initial = [...this.#peers.values()];
    setTimeout(() => {
      for (const { peerId } of initial) {
        const peer = this.#peers.get(peerId); // the latest copy (its media may have changed since)
        if (!this.#ended && peer) this.emit(CallEvent.PeerJoined, { peer });
      }
    }, 0);
  }

  /** @returns {Readonly<SelfInfo>} ourselves; `peerId` changes only after a rejoin */
  get self() {
    return this.#self;
  }

  /** @returns {Map<string, Readonly<Peer>>} a snapshot of the remote peers, by peer id */
  get peers() {
    return new Map(this.#peers);
  }

  /** True once the call has ended (after the `ended` event). */
  get ended() {
    return this.#ended;
  }

  /**
   * Statistics of the connection to one peer (the first peer when omitted).
   * @param {string} [peerId]
   * @returns {Promise<RTCStatsReport | null>} null when no peer is connected
   * @throws {PeercallError} `peer_not_found` for an unknown peerId
   */
  async getStats(peerId) {
    // Without a peer id: the first *person* (the server's recorder receives only, a 1:1 UI means the other one).
    const entry = peerId === undefined ? this.#links.firstPerson()?.[1] : this.#links.get(peerId);
    if (entry) return entry.link.getStats();
    if (peerId === undefined) return null;
    throw new PeercallError(ErrorCode.PeerNotFound, `No connection to peer ${peerId}`);
  }

  /**
   * Start a media recovery towards one peer (all peers when omitted), e.g. after the app
   * learned of a network change. The SDK already does this by itself.
   * @param {string} [peerId]
   */
  restartIce(peerId) {
    for (const [id, entry] of this.#links) if (peerId === undefined || id === peerId) entry.recovery.nudge('manual');
  }

  /**
   * Host only: act on another member's media or presence (see ModerationAction). The
   * server enforces roles: a refusal arrives as a non-fatal `error` event with
   * `error.ref === 'moderate'` (`forbidden`, `participant_not_found`); success shows as
   * the member's `peerMedia` change (`remove`: `peerLeft` with reason `removed`).
   * @param {string} peerId
   * @param {import('./moderation.js').ModerationActionName} action
   * @throws {PeercallError} `invalid_argument` for an unknown action
   */
  moderate(peerId, action) {
    this.#signal.send(moderateFrame(peerId, action));
  }

  /**
   * Send an app message to everyone in the call, peer to peer (reliable, exactly once).
   * @param {string} topic 1-64 characters of letters, digits and `. _ : / -`
   * @param {unknown} payload any JSON value (≤ 16 KiB encoded)
   * @returns {string} the message id
   * @throws {PeercallError} `invalid_argument`, `message_too_large`, `queue_full`
   */
  send(topic, payload) {
    return this.#collab.app.send(topic, payload);
  }

  /**
   * Listen to app messages of one topic (not `call.on`: that is for the call's own events).
   * @param {string} topic
   * @param {(message: import('./app-messages.js').AppMessage) => void} listener
   * @returns {() => void} unsubscribes
   */
  onMessage(topic, listener) {
    return this.#collab.app.on(topic, listener);
  }

  /**
   * Leave the call: tell the server, close every connection, stop the local tracks if the
   * SDK acquired them, emit `ended`. Idempotent.
   * @param {LeaveReason} [reason='hangup'] any other value is sent as `hangup`
   */
  leave(reason = 'hangup') {
    if (this.#ended) return;
    if (!LEAVE_REASONS.has(reason)) reason = 'hangup';
    this.#signal.send({ type: 'leave', reason });
    this.#end(reason);
  }

  /**
   * Adopt a session (joined or resumed): its signaling client, our identity, ICE servers.
   * @param {Session} session
   * @returns {Readonly<SelfInfo>}
   */
  #attach({ signal, joined }) {
    this.#signal = signal;
    signal.on('frame', (frame) => { if (signal === this.#signal) this.#onFrame(frame); });
    signal.on('pong', (frame) => { if (signal === this.#signal) this.stats?.handlePong(frame); });
    signal.on('error', (error) => {
      // While we take the session over on a new socket, the server tells the old one it
      // was replaced: that is us, not another device.
      if (this.#reconnecting && error.code === ErrorCode.SessionReplaced) return;
      if (signal === this.#signal) this.#onSignalError(error);
    });
    signal.on('close', ({ error }) => {
      if (signal !== this.#signal) return;
      this.#onSignalLost(error ?? new PeercallError(ErrorCode.ConnectionLost, 'The connection to the call server was lost.', { fatal: true }));
    });
    this.#iceServers = this.#init.iceServers ?? (Array.isArray(joined.ice_servers) ? joined.ice_servers : []);
    // A relay-only room: peers never see each other's addresses (TURN relays only).
    this.#iceTransportPolicy = joined.ice_transport_policy === 'relay' ? 'relay' : 'all';
    this.#resumeToken = typeof joined.resume_token === 'string' ? joined.resume_token : null;
    if (this.#collab) this.#collabSettings = collabSettings(joined);
    return Object.freeze({ ...toPeer(joined), roomId: String(joined.room_id), callId: String(joined.call_id ?? '') });
  }

  /**
   * A remote peer to talk to. `polite`: they are the newcomer and will offer.
   * @param {Readonly<Peer>} peer @param {boolean} polite
   * @param {boolean} [reset] we replace a broken connection (we send a reset offer)
   * @param {boolean} [answerFirst] they replaced theirs (we answer their reset offer)
   */
  #addPeer(peer, polite, reset = false, answerFirst = false) {
    this.#peers.set(peer.peerId, peer);
    const link = this.#links.open(peer.peerId, polite, reset, answerFirst);
    this.#collab.attach(peer, link);
  }

  /** Last rung of the recovery ladder: a brand-new connection, fully renegotiated. @param {string} peerId */
  #replaceLink(peerId) {
    const entry = this.#links.get(peerId);
    const peer = this.#peers.get(peerId);
    if (!entry || !peer || this.#ended) return;
    this.#addPeer(peer, entry.link.polite, true);
  }

  /** @param {string} peerId */
  #closeLink(peerId) {
    this.#links.close(peerId);
  }

  /** Point an existing connection at the peer's new id (it rejoined, or we did). @param {string} oldId @param {Readonly<Peer>} peer */
  #rekey(oldId, peer) {
    if (!this.#links.rekey(oldId, peer.peerId)) return;
    this.#peers.delete(oldId);
    this.#peers.set(peer.peerId, peer);
    this.#collab.rename(peer);
  }

  /** @param {string} identity @returns {string | undefined} the peer id we know for that identity */
  #peerIdOf(identity) {
    for (const [peerId, peer] of this.#peers) if (peer.identity === identity) return peerId;
    return undefined;
  }

  /** @param {Record<string, any>} frame */
  #onFrame(frame) {
    if (this.#ended) return;
    if (typeof frame.seq === 'number') {
      if (frame.seq <= this.#lastSeq) return; // already processed before a resume
      this.#lastSeq = frame.seq;
    }
    const from = String(frame.from ?? frame.peer_id ?? '');
    switch (frame.type) {
      case 'peer-joined': {
        const peer = toPeer(frame.peer ?? {});
        const known = this.#peerIdOf(peer.identity);
        if (known !== undefined && known !== peer.peerId && this.#links.get(known)?.link.connectionState === 'connected') {
          this.#rekey(known, peer); // same person after a server restart: keep the media flowing
          this.emit(CallEvent.PeerReconnected, { peerId: peer.peerId, peer });
          return;
        }
        if (known !== undefined) this.#closeLink(known);
        if (known !== undefined) this.#peers.delete(known);
        this.#addPeer(peer, true); // polite; waits for the newcomer's offer
        this.emit(CallEvent.PeerJoined, { peer });
        return;
      }
      case 'peer-left': {
        this.#away.delete(from);
        const peer = this.#peers.get(from);
        this.#closeLink(from);
        this.#peers.delete(from);
        this.#collab.detach(peer);
        this.emit(CallEvent.PeerLeft, { peerId: from, reason: frame.reason ?? 'disconnected', peer });
        return;
      }
      case 'peer-reconnecting':
        this.#away.add(from);
        this.emit(CallEvent.PeerReconnecting, { peerId: from, peer: this.#peers.get(from) });
        return;
      case 'peer-resumed':
        this.#away.delete(from);
        if (this.#links.get(from)?.recovery.active) this.#links.get(from)?.recovery.nudge('manual'); // it was waiting for them
        this.emit(CallEvent.PeerReconnected, { peerId: from, peer: this.#peers.get(from) });
        return;
      case 'offer': {
        const entry = this.#links.get(from);
        const peer = this.#peers.get(from);
        // They rebuilt their side: so do we, unless we did too and are the impolite side
        // (then the polite side yields on our reset offer, as in perfect negotiation).
        if (frame.reset && entry && peer && entry.link.renewing && !entry.link.polite) return;
        if (frame.reset && entry && peer) this.#addPeer(peer, entry.link.polite, false, true);
        this.#links.get(from)?.link.handleDescription({ type: 'offer', sdp: frame.sdp });
        return;
      }
      case 'answer':
        this.#links.get(from)?.link.handleDescription({ type: 'answer', sdp: frame.sdp });
        return;
      case 'ice-candidate':
        this.#links.get(from)?.link.handleCandidate(frame.candidate ?? null);
        return;
      case 'peer-media': {
        const known = this.#peers.get(from);
        const media = toMedia(frame.media);
        const peer = known && Object.freeze({ ...known, media });
        if (peer) this.#peers.set(from, peer);
        this.emit(CallEvent.PeerMedia, { peerId: from, media, peer });
        return;
      }
      case 'moderation':
        this.media.handleModeration(frame);
        return;
      case 'snapshot-request':
      case 'snapshot-requested':
      case 'snapshot-failed':
      case 'snapshot-taken':
        this.snapshots.handleFrame(frame);
        return;
      case 'peer-stats':
        this.stats.handlePeerStats(frame);
        return;
      case 'recording-state':
        this.recording.handleState(frame);
        return;
      case 'time':
        this.recording.handleTime(frame);
        return;
      case 'room-ended':
        for (const [peerId, peer] of [...this.#peers]) this.emit(CallEvent.PeerLeft, { peerId, reason: 'room_ended', peer });
        this.#end('room_ended');
        return;
      default:
        // Unknown server frames are ignored (forward compatibility).
    }
  }

  /** @param {PeercallError} error */
  #onSignalError(error) {
    if (this.#ended) return;
    if (!error.fatal) this.emit(CallEvent.Error, { error });
    else if (!isReconnectable(error)) this.#end(endReasonFor(error), error);
    // A reconnectable fatal error is followed by the close, which starts the reconnection.
  }

  /** @param {PeercallError} error */
  #onSignalLost(error) {
    if (this.#ended || this.#reconnecting) return;
    if (!isReconnectable(error)) this.#end(endReasonFor(error), error);
    else void this.#reconnectSession(error);
  }

  /**
   * The network came back or changed: the socket may be dead without knowing it yet, and
   * the media path likely broke. Take the session over on a fresh socket and nudge ICE.
   * @param {'offline' | 'network_change'} cause
   */
  #networkBack(cause) {
    if (this.#ended) return;
    this.#links.nudgeAll(cause);
    // If the old path still works, the other side's next frame is a key frame: no waiting.
    for (const [, entry] of this.#links) entry.link.requestKeyFrames();
    if (this.#reconnecting) this.#reconnect.hurry();
    else void this.#reconnectSession(new PeercallError(ErrorCode.ConnectionLost, `Network ${cause}`, { fatal: true }));
  }

  /** Resume (or rejoin) on a new socket; the old one is closed only once replaced. @param {PeercallError} error */
  async #reconnectSession(error) {
    this.#reconnecting = true;
    this.emit(CallEvent.Reconnecting, { error });
    const lostAt = Date.now();
    let result;
    try {
      result = await this.#reconnect.run(error);
    } catch (err) {
      this.#reconnecting = false;
      const final = /** @type {PeercallError} */ (err);
      this.#end(endReasonFor(final), final);
      return;
    }
    this.#reconnecting = false;
    if (!result) return;
    const old = this.#signal;
    if (this.#ended) {
      result.session.signal.send({ type: 'leave', reason: 'hangup' });
      result.session.signal.close();
      return;
    }
    if (result.resumed) this.#resumed(result.session);
    else this.#rejoined(result.session);
    old.close(1000, 'replaced by a new connection');
    // A resume is recorded by the server; a rejoin (e.g. after a server restart) only we know of.
    if (!result.resumed) this.#signal.send({ type: 'rejoin-report', cause: error.code, duration_ms: Date.now() - lostAt, attempts: result.attempts });
    this.emit(CallEvent.Reconnected, { self: this.#self, resumed: result.resumed });
    this.#collab.reconnected();
    this.#links.nudgeActive();
    // After the replay (an answer to it may be in there): what we sent into the dead socket is gone.
    setTimeout(() => { if (!this.#ended && !this.#reconnecting) this.#links.resendOffers(RESEND_AFTER_RESUME_MS); }, RESEND_AFTER_RESUME_MS);
  }

  /** Same session, new socket: the links are untouched. @param {Session} session */
  #resumed(session) {
    this.#self = this.#attach(session);
    const present = new Set((session.joined.peers ?? []).map((/** @type {any} */ p) => String(p.peer_id)));
    for (const [peerId, peer] of [...this.#peers]) {
      if (present.has(peerId)) continue;
      this.#closeLink(peerId);
      this.#peers.delete(peerId);
      this.#collab.detach(peer);
      this.emit(CallEvent.PeerLeft, { peerId, reason: 'disconnected', peer });
    }
    if (session.joined.replay_gap) this.#links.nudgeAll('manual');
  }

  /**
   * A new session (new peer id). Links to peers that are back under a new id are kept and
   * re-addressed; peers not back yet keep their link until they rejoin (`peer-joined`
   * re-addresses it) — the media never stopped flowing peer to peer.
   * @param {Session} session
   */
  #rejoined(session) {
    this.#lastSeq = 0;
    this.#self = this.#attach(session);
    for (const peer of (session.joined.peers ?? []).map(toPeer)) {
      const known = this.#peerIdOf(peer.identity);
      const entry = known === undefined ? undefined : this.#links.get(known);
      if (known !== undefined && entry?.link.connectionState === 'connected') {
        this.#rekey(known, peer);
        // Confirms the pairing under the new ids (harmless if the other side kept its link too).
        entry.link.restartIce();
      } else {
        if (known !== undefined) {
          this.#closeLink(known);
          this.#peers.delete(known);
        }
        this.#addPeer(peer, false);
        this.emit(CallEvent.PeerJoined, { peer });
      }
    }
  }

  /** @param {EndReason} reason @param {PeercallError} [error] */
  #end(reason, error) {
    if (this.#ended) return;
    this.#ended = true;
    this.#stopNetwork();
    this.stats.stop();
    this.bandwidth.stop();
    this.activeSpeaker.stop();
    if (typeof window !== 'undefined') window.removeEventListener('pagehide', this.#onPageHide);
    this.#reconnect.stop(); // end a reconnect wait at once
    this.#signal.close(1000, reason);
    this.#links.closeAll();
    this.#peers.clear();
    this.#collab.close();
    if (this.#init.ownsLocalStream) stopStream(this.localStream);
    if (error) this.emit(CallEvent.Error, { error });
    this.emit(CallEvent.Ended, error ? { reason, error } : { reason });
  }
}
