/**
 * The Call: one joined session in one room. It ties the signaling client to one
 * {@link PeerLink} per remote peer and turns everything into {@link CallEvent}s. When the
 * signaling connection is lost it rejoins (see reconnect.js) while the peer connections
 * keep carrying media.
 *
 * @module call
 */

import { Emitter } from './emitter.js';
import { ErrorCode, PeercallError } from './errors.js';
import { CallEvent } from './events.js';
import { watchIceRecovery } from './ice-recovery.js';
import { stopStream } from './media.js';
import { PeerLink } from './peer-link.js';
import { isReconnectable, retryConnect } from './reconnect.js';
import { toPeer } from './wire.js';

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
 * @property {() => Promise<Session>} connect opens a new session (used to rejoin)
 * @property {import('./reconnect.js').ReconnectPolicy} reconnectPolicy
 * @property {MediaStream | null} localStream
 * @property {boolean} ownsLocalStream stop its tracks when the call ends
 * @property {RTCIceServer[] | undefined} iceServers override of the server's list
 */

const LEAVE_REASONS = new Set(['hangup', 'navigate', 'error']);

/** @param {PeercallError} error @returns {EndReason} */
const endReasonFor = (error) => ({ [ErrorCode.SessionReplaced]: 'replaced', [ErrorCode.RoomNotFound]: 'room_ended',
  [ErrorCode.ConnectionLost]: 'disconnected', [ErrorCode.ConnectionFailed]: 'disconnected' })[error.code] ?? 'error';

/**
 * A joined call. Create it with `join()`; do not construct it directly.
 * @extends {Emitter<CallEvents>}
 */
export class Call extends Emitter {
  /** @type {SignalClient} */
  #signal;
  /** @type {RTCIceServer[]} */
  #iceServers = [];
  #init;
  /** @type {Map<string, PeerLink>} */
  #links = new Map();
  /** @type {Map<string, () => void>} */
  #stopRecovery = new Map();
  /** @type {Map<string, Readonly<Peer>>} */
  #peers = new Map();
  /** @type {Readonly<SelfInfo>} */
  #self;
  #ended = false;
  #reconnecting = false;

  /** @param {CallInit} init */
  constructor(init) {
    super();
    this.#init = init;
    this.#signal = init.session.signal;
    /** @type {MediaStream | null} the stream we send (null: receive only) */
    this.localStream = init.localStream;
    this.#self = this.#attach(init.session);
    // Peers already present are announced once the caller had a chance to subscribe.
    const initial = [...this.#peers.values()];
    setTimeout(() => {
      for (const peer of initial) if (!this.#ended && this.#peers.get(peer.peerId) === peer) this.emit(CallEvent.PeerJoined, { peer });
    }, 0);
  }

  /** @returns {Readonly<SelfInfo>} ourselves; `peerId` changes after a reconnection */
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
    const link = peerId === undefined ? this.#links.values().next().value : this.#links.get(peerId);
    if (link) return link.getStats();
    if (peerId === undefined) return null;
    throw new PeercallError(ErrorCode.PeerNotFound, `No connection to peer ${peerId}`);
  }

  /**
   * Restart ICE towards one peer (all peers when omitted), e.g. after a network change.
   * The SDK already does this by itself when a connection fails or stays disconnected.
   * @param {string} [peerId]
   */
  restartIce(peerId) {
    for (const [id, link] of this.#links) if (peerId === undefined || id === peerId) link.restartIce();
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
   * Adopt a joined session: its signaling client, our identity, and the peers already
   * there, towards whom we are the impolite newcomer that offers right away.
   * @param {Session} session
   * @returns {Readonly<SelfInfo>}
   */
  #attach({ signal, joined }) {
    this.#signal = signal;
    signal.on('frame', (frame) => this.#onFrame(frame));
    signal.on('error', (error) => this.#onSignalError(error));
    signal.on('close', ({ error }) => this.#onSignalLost(error
      ?? new PeercallError(ErrorCode.ConnectionLost, 'The connection to the call server was lost.', { fatal: true })));
    this.#iceServers = this.#init.iceServers ?? (Array.isArray(joined.ice_servers) ? joined.ice_servers : []);
    for (const peer of (Array.isArray(joined.peers) ? joined.peers : []).map(toPeer)) {
      this.#peers.set(peer.peerId, peer);
      this.#createLink(peer.peerId, false);
    }
    return Object.freeze({ ...toPeer(joined), roomId: String(joined.room_id), callId: String(joined.call_id ?? '') });
  }

  /** @param {string} peerId @param {boolean} polite */
  #createLink(peerId, polite) {
    const link = new PeerLink({
      peerId,
      polite,
      iceServers: this.#iceServers,
      localStream: this.localStream,
      send: (message) => this.#signal.send({ ...message, to: peerId }),
    });
    link.on('track', ({ track, stream }) => this.emit(CallEvent.RemoteTrack, { peerId, track, stream }));
    link.on('error', (error) => this.emit(CallEvent.Error, { error }));
    link.on('connectionstate', (state) => this.emit(CallEvent.ConnectionState, { peerId, state }));
    this.#links.set(peerId, link);
    this.#stopRecovery.set(peerId, watchIceRecovery(link));
  }

  /** @param {string} peerId */
  #closeLink(peerId) {
    this.#stopRecovery.get(peerId)?.();
    this.#stopRecovery.delete(peerId);
    this.#links.get(peerId)?.close();
    this.#links.delete(peerId);
  }

  /** @param {Record<string, any>} frame */
  #onFrame(frame) {
    if (this.#ended) return;
    switch (frame.type) {
      case 'peer-joined': {
        const peer = toPeer(frame.peer ?? {});
        this.#closeLink(peer.peerId);
        this.#peers.set(peer.peerId, peer);
        this.#createLink(peer.peerId, true); // polite; waits for the newcomer's offer
        this.emit(CallEvent.PeerJoined, { peer });
        return;
      }
      case 'peer-left': {
        const peerId = String(frame.peer_id);
        const peer = this.#peers.get(peerId);
        this.#closeLink(peerId);
        this.#peers.delete(peerId);
        this.emit(CallEvent.PeerLeft, { peerId, reason: frame.reason ?? 'disconnected', peer });
        return;
      }
      case 'offer':
      case 'answer':
        this.#links.get(String(frame.from))?.handleDescription({ type: frame.type, sdp: frame.sdp });
        return;
      case 'ice-candidate':
        this.#links.get(String(frame.from))?.handleCandidate(frame.candidate ?? null);
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
    // A reconnectable fatal error is followed by the close, which starts the rejoin.
  }

  /** @param {PeercallError} error */
  async #onSignalLost(error) {
    if (this.#ended || this.#reconnecting) return;
    if (!isReconnectable(error)) {
      this.#end(endReasonFor(error), error);
      return;
    }
    this.#reconnecting = true;
    this.emit(CallEvent.Reconnecting, { error });
    let session;
    try {
      session = await retryConnect(this.#init.connect, this.#init.reconnectPolicy, error, () => this.#ended);
    } catch (err) {
      this.#reconnecting = false;
      const final = /** @type {PeercallError} */ (err);
      this.#end(endReasonFor(final), final);
      return;
    }
    this.#reconnecting = false;
    if (!session) return;
    if (this.#ended) {
      session.signal.send({ type: 'leave', reason: 'hangup' });
      session.signal.close();
      return;
    }
    this.#rejoined(session);
  }

  /**
   * We are a new member now: the others dropped their connections to our old peer id, so
   * every link is rebuilt, as the impolite newcomer.
   * @param {Session} session
   */
  #rejoined(session) {
    const before = new Map(this.#peers);
    for (const peerId of [...this.#links.keys()]) this.#closeLink(peerId);
    this.#peers.clear();
    this.#self = this.#attach(session);
    for (const [peerId, peer] of before) {
      if (!this.#peers.has(peerId)) this.emit(CallEvent.PeerLeft, { peerId, reason: 'disconnected', peer });
    }
    for (const [peerId, peer] of this.#peers) if (!before.has(peerId)) this.emit(CallEvent.PeerJoined, { peer });
    this.emit(CallEvent.Reconnected, { self: this.#self });
  }

  /** @param {EndReason} reason @param {PeercallError} [error] */
  #end(reason, error) {
    if (this.#ended) return;
    this.#ended = true;
    this.#signal.close(1000, reason);
    for (const peerId of [...this.#links.keys()]) this.#closeLink(peerId);
    this.#peers.clear();
    if (this.#init.ownsLocalStream) stopStream(this.localStream);
    if (error) this.emit(CallEvent.Error, { error });
    this.emit(CallEvent.Ended, error ? { reason, error } : { reason });
  }
}
