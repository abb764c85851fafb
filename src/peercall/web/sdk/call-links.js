/**
 * The Call's peer connections: one {@link PeerLink} per remote member, each watched by its
 * own media recovery (media-recovery.js). Kept apart from call.js so the Call reads as
 * membership and session logic; this module owns how a connection is built, repaired
 * (the ladder's last rung replaces it), re-addressed after a rejoin and closed.
 *
 * @module call-links
 */

import { CallEvent } from './events.js';
import { watchMediaRecovery } from './media-recovery.js';
import { PeerLink } from './peer-link.js';

/**
 * @typedef {import('./events.js').Peer} Peer
 * @typedef {{link: PeerLink, recovery: ReturnType<typeof watchMediaRecovery>}} Entry
 */

/**
 * @typedef {object} LinkHooks
 * @property {() => {iceServers: RTCIceServer[], iceTransportPolicy: RTCIceTransportPolicy, localStream: MediaStream | null}} config
 * @property {(frame: Record<string, any>) => void} send a signaling frame
 * @property {(event: string, payload: any) => void} emit a Call event
 * @property {(peerId: string) => Readonly<Peer> | undefined} peer what we know of a member
 * @property {(peerId: string) => boolean} canRecover a recovery step may run now (signaling up, member present, online)
 * @property {(peerId: string) => void} replace build a fresh connection to the member (ladder's last rung)
 * @property {() => void} changed the set of connections changed (upload caps follow it)
 * @property {() => void} mediaResumed inbound media flows again after an outage: the network is back
 * @property {() => import('./media-recovery.js').MediaRecoveryPolicy | undefined} recoveryPolicy the Call's override, if any
 */

/** Connections by remote peer id. */
export class CallLinks {
  /** @type {Map<string, Entry>} */
  #entries = new Map();
  #hooks;

  /** @param {LinkHooks} hooks */
  constructor(hooks) {
    this.#hooks = hooks;
  }

  /** @param {string} peerId @returns {Entry | undefined} */
  get(peerId) {
    return this.#entries.get(peerId);
  }

  /** @returns {IterableIterator<[string, Entry]>} */
  [Symbol.iterator]() {
    return this.#entries.entries();
  }

  /** @returns {RTCPeerConnection[]} every connection (media controls, effects, recording act on all) */
  connections() {
    return [...this.#entries.values()].map((entry) => entry.link.pc);
  }

  /** @returns {string[]} */
  peerIds() {
    return [...this.#entries.keys()];
  }

  /**
   * The connection a 1:1 view means by "the call": to the first *person* (the server's
   * recorder receives only), else to whoever is there.
   * @returns {[string, Entry] | undefined}
   */
  firstPerson() {
    return [...this.#entries].find(([id]) => this.#hooks.peer(id)?.role !== 'recorder') ?? this.#entries.entries().next().value;
  }

  /**
   * A new connection to a member (replacing any we had). `polite`: they are the newcomer and
   * will offer; `reset`: we replace a broken connection (we send a reset offer);
   * `answerFirst`: they replaced theirs (we answer their reset offer).
   * @param {string} peerId @param {boolean} polite @param {boolean} reset @param {boolean} answerFirst
   * @returns {PeerLink}
   */
  open(peerId, polite, reset, answerFirst) {
    this.close(peerId, false);
    const hooks = this.#hooks;
    const link = new PeerLink({
      peerId, polite, reset, answerFirst, ...hooks.config(),
      send: (message) => hooks.send({ ...message, to: link.peerId }),
    });
    link.on('track', ({ track, stream }) => hooks.emit(CallEvent.RemoteTrack, { peerId: link.peerId, track, stream }));
    link.on('error', (error) => hooks.emit(CallEvent.Error, { error }));
    link.on('connectionstate', (state) => {
      if (state === 'connected') hooks.changed(); // its senders are negotiated now
      hooks.emit(CallEvent.ConnectionState, { peerId: link.peerId, state });
    });
    const media = () => hooks.peer(link.peerId)?.media;
    const recovery = watchMediaRecovery(link, {
      attempt: (step) => {
        if (step === 'ice_restart') return link.restartIce();
        if (step === 'relay_restart') return link.restartIce({ relayOnly: true });
        queueMicrotask(() => hooks.replace(link.peerId));
        return true;
      },
      onStep: ({ cause, step, attempt }) => hooks.emit(CallEvent.MediaRecovering, { peerId: link.peerId, cause, step, attempt }),
      onDone: ({ cause, durationMs, outcome, steps }) => {
        if (steps.length === 0 && durationMs < 1_000) return; // a blip that healed by itself
        hooks.send({ type: 'recovery-report', peer_id: link.peerId, cause, duration_ms: durationMs, outcome, steps });
        hooks.emit(CallEvent.MediaRecovered, { peerId: link.peerId, cause, durationMs, outcome, steps });
      },
      canAttempt: () => hooks.canRecover(link.peerId),
      answered: () => !link.awaitingAnswer,
      holdSending: (held) => link.holdSending(held),
      keyFrameNeeded: (why) => {
        link.requestKeyFrames();
        if (why === 'resumed') hooks.mediaResumed();
      },
      expectsVideo: () => !media() || media()?.video === 'on' || Boolean(media()?.screen),
      expectsInbound: () => {
        const m = media();
        return !m || m.audio !== 'none' || m.video === 'on' || m.screen;
      },
    }, hooks.recoveryPolicy());
    this.#entries.set(peerId, { link, recovery });
    hooks.changed();
    return link;
  }

  /** Close the connection to a member. @param {string} peerId @param {boolean} [announce] */
  close(peerId, announce = true) {
    const entry = this.#entries.get(peerId);
    if (!entry) return;
    entry.recovery.stop();
    entry.link.close();
    this.#entries.delete(peerId);
    if (announce) this.#hooks.changed();
  }

  /** Close every connection (the call ended): no further `changed`. */
  closeAll() {
    for (const peerId of [...this.#entries.keys()]) this.close(peerId, false);
  }

  /** Point an existing connection at the member's new id. @param {string} oldId @param {string} newId */
  rekey(oldId, newId) {
    const entry = this.#entries.get(oldId);
    if (!entry) return false;
    this.#entries.delete(oldId);
    entry.link.peerId = newId;
    this.#entries.set(newId, entry);
    return true;
  }

  /** Nudge the recovery of every connection (e.g. the network came back). @param {'offline' | 'network_change' | 'manual'} cause */
  nudgeAll(cause) {
    for (const entry of this.#entries.values()) entry.recovery.nudge(cause);
  }

  /**
   * Send again every offer still unanswered (it may have died with the old socket).
   * @param {number} minAgeMs only offers sent at least this long ago (not one in flight)
   */
  resendOffers(minAgeMs) {
    for (const entry of this.#entries.values()) entry.link.resendOffer(minAgeMs);
  }

  /** Nudge only the recoveries in progress (they were waiting for signaling). */
  nudgeActive() {
    for (const entry of this.#entries.values()) if (entry.recovery.active) entry.recovery.nudge('manual');
  }
}
