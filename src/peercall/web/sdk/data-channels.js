/**
 * Peer-to-peer data channels of a call, and the layer that keeps them across broken links.
 *
 * Every {@link PeerLink} opens the same *pre-negotiated* channels right after building its
 * RTCPeerConnection (`negotiated: true` with fixed ids, see {@link DATA_CHANNELS}): both
 * sides have them without extra signaling, and the Python peer does the same. The ids and
 * the message formats are documented in docs/collab.md.
 *
 * A {@link DataHub} (one per Call) follows each remote member by *identity*, not peer id:
 * a rejoin re-keys peer ids and the last rung of the recovery ladder replaces the whole
 * connection, and neither must lose a queued chat message or a file transfer. Services
 * (chat, files, whiteboard, app messages) register a {@link ChannelService}; the hub tells
 * them when a member's channel opens (fresh connection: resend what was not acknowledged)
 * or closes, and hands them each inbound message.
 *
 * @module data-channels
 */

/**
 * Fixed channel ids and labels (both sides must agree; see docs/collab.md).
 * @readonly
 */
export const DATA_CHANNELS = Object.freeze({
  chat: Object.freeze({ id: 1, label: 'peercall-chat' }),
  app: Object.freeze({ id: 2, label: 'peercall-app' }),
  file: Object.freeze({ id: 3, label: 'peercall-file' }),
  whiteboard: Object.freeze({ id: 4, label: 'peercall-whiteboard' }),
});

/** @typedef {keyof typeof DATA_CHANNELS} ChannelKind */
/** @typedef {Record<ChannelKind, RTCDataChannel>} ChannelSet */

/**
 * Open the pre-negotiated channels on a new connection (before any offer is made).
 * All are reliable and ordered; binary messages arrive as ArrayBuffers.
 * @param {RTCPeerConnection} pc
 * @returns {ChannelSet}
 */
export function openDataChannels(pc) {
  /** @type {Partial<ChannelSet>} */
  const channels = {};
  for (const [kind, { id, label }] of Object.entries(DATA_CHANNELS)) {
    const channel = pc.createDataChannel(label, { negotiated: true, id, ordered: true });
    channel.binaryType = 'arraybuffer';
    channels[/** @type {ChannelKind} */ (kind)] = channel;
  }
  return /** @type {ChannelSet} */ (channels);
}

/**
 * What a service learns about one remote member's channel of its kind.
 * @typedef {object} ChannelService
 * @property {(identity: string, channel: RTCDataChannel) => void} open the channel is open
 *   (first time, or a new connection replaced the old one): resend what is pending
 * @property {(identity: string) => void} [close] the channel closed (the connection broke or was replaced)
 * @property {(identity: string, data: string | ArrayBuffer) => void} message
 */

/**
 * @typedef {object} Member
 * @property {string} peerId the member's current peer id
 * @property {ChannelSet | null} channels the channels of the current connection
 */

/** Routes the channels of every remote member to the services, by identity. */
export class DataHub {
  /** @type {Map<string, Member>} */
  #members = new Map();
  /** @type {Map<ChannelKind, ChannelService>} */
  #services = new Map();

  /**
   * @param {ChannelKind} kind
   * @param {ChannelService} service
   */
  register(kind, service) {
    this.#services.set(kind, service);
    for (const [identity, member] of this.#members) {
      const channel = member.channels?.[kind];
      if (channel?.readyState === 'open') service.open(identity, channel);
    }
  }

  /**
   * A (new) connection to a member: adopt its channels, dropping the previous ones.
   * @param {string} identity @param {string} peerId @param {ChannelSet} channels
   */
  attach(identity, peerId, channels) {
    const member = this.#members.get(identity);
    if (member?.channels) {
      this.#unwire(member.channels);
      for (const service of this.#services.values()) service.close?.(identity); // the old connection is gone
    }
    this.#members.set(identity, { peerId, channels });
    for (const [kind, channel] of Object.entries(channels)) this.#wire(identity, /** @type {ChannelKind} */ (kind), channel);
  }

  /** The member now has another peer id (rejoin). @param {string} identity @param {string} peerId */
  rename(identity, peerId) {
    const member = this.#members.get(identity);
    if (member) member.peerId = peerId;
  }

  /** The member left: stop listening to its channels (services keep their state). @param {string} identity */
  detach(identity) {
    const member = this.#members.get(identity);
    if (!member) return;
    if (member.channels) this.#unwire(member.channels);
    member.channels = null;
    for (const service of this.#services.values()) service.close?.(identity);
  }

  /** @param {string} identity @returns {string | undefined} */
  peerIdOf(identity) {
    return this.#members.get(identity)?.peerId;
  }

  /** @param {string} peerId @returns {string | undefined} */
  identityOf(peerId) {
    for (const [identity, member] of this.#members) if (member.peerId === peerId) return identity;
    return undefined;
  }

  /** @returns {string[]} identities of the members currently in the call */
  identities() {
    return [...this.#members].filter(([, m]) => m.channels !== null).map(([identity]) => identity);
  }

  /**
   * The open channel of a kind to a member, or null (closed, not yet open, member away).
   * @param {ChannelKind} kind @param {string} identity @returns {RTCDataChannel | null}
   */
  channel(kind, identity) {
    const channel = this.#members.get(identity)?.channels?.[kind];
    return channel && channel.readyState === 'open' ? channel : null;
  }

  /** @param {string} identity @param {ChannelKind} kind @param {RTCDataChannel} channel */
  #wire(identity, kind, channel) {
    const current = () => this.#members.get(identity)?.channels?.[kind] === channel;
    channel.onopen = () => { if (current()) this.#services.get(kind)?.open(identity, channel); };
    channel.onclose = () => { if (current()) this.#services.get(kind)?.close?.(identity); };
    channel.onmessage = ({ data }) => { if (current()) this.#services.get(kind)?.message(identity, data); };
    if (channel.readyState === 'open') queueMicrotask(() => channel.onopen?.(new Event('open')));
  }

  /** @param {ChannelSet} channels */
  #unwire(channels) {
    for (const channel of Object.values(channels)) channel.onopen = channel.onclose = channel.onmessage = null;
  }
}
