/**
 * Exactly-once JSON messages over one kind of data channel, across broken connections.
 *
 * SCTP already delivers reliably and in order *on one connection*; what it cannot do is
 * carry a message over a connection that is replaced (recovery ladder, rejoin). So every
 * message has an id and stays in a per-member outbox until the member acknowledges it;
 * when a member's channel opens again the outbox is sent again, in order, and the receiver
 * drops ids it has already seen. Outboxes and the seen-id memory are bounded: a full
 * outbox refuses new messages (`queue_full`) rather than growing without limit.
 *
 * Wire format (text frames, JSON): `{"t":"msg","id":ID,"ts":MS,"body":{…}}`,
 * `{"t":"ack","id":ID}`, `{"t":"eph","body":{…}}` (ephemeral: sent only if open, never queued).
 *
 * @module reliable
 */

import { ErrorCode, PeercallError } from './errors.js';

/** @typedef {import('./data-channels.js').DataHub} DataHub */
/** @typedef {import('./data-channels.js').ChannelKind} ChannelKind */
/** @typedef {{id: string, ts: number, body: Record<string, unknown>}} Envelope */

const ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;
const encoder = new TextEncoder();

/**
 * @typedef {object} ReliableOptions
 * @property {ChannelKind} kind
 * @property {DataHub} hub
 * @property {number} maxBytes largest encoded frame accepted or sent
 * @property {number} [maxQueue=500] pending messages per member
 * @property {(identity: string, envelope: Envelope) => void} onMessage a new message (never a duplicate)
 * @property {(identity: string, body: Record<string, unknown>) => void} [onEphemeral]
 * @property {(identity: string) => void} [onOpen] the member's channel (re)opened, after the outbox was resent
 * @property {(identity: string, id: string) => void} [onAck] the member has the message
 * @property {(identity: string, id: string) => void} [onSent] handed to an open channel
 * @property {(error: PeercallError) => void} onError bad input from a member (non-fatal)
 */

/** @param {unknown} value @returns {value is Record<string, unknown>} */
export const isObject = (value) => typeof value === 'object' && value !== null && !Array.isArray(value);

/** @param {string} text @returns {number} */
export const utf8Length = (text) => encoder.encode(text).length;

export class ReliableMessenger {
  #opts;
  /** @type {Map<string, Map<string, Envelope>>} unacknowledged messages per member */
  #outbox = new Map();
  /** @type {Envelope[]} sent while nobody was in the call: go to the first member that opens */
  #orphans = [];
  /** @type {Map<string, Set<string>>} ids already delivered, per member (bounded) */
  #seen = new Map();

  /** @param {ReliableOptions} options */
  constructor(options) {
    this.#opts = { maxQueue: 500, ...options };
    options.hub.register(options.kind, {
      open: (identity) => {
        this.#flush(identity);
        this.#opts.onOpen?.(identity);
      },
      message: (identity, data) => this.#receive(identity, data),
    });
  }

  /**
   * Send a message to every member (queued for members whose channel is down).
   * @param {Record<string, unknown>} body
   * @returns {{envelope: Envelope, recipients: string[]}}
   * @throws {PeercallError} `message_too_large`, `queue_full`
   */
  send(body) {
    const envelope = { id: newId(), ts: Date.now(), body };
    const frame = JSON.stringify({ t: 'msg', ...envelope });
    if (utf8Length(frame) > this.#opts.maxBytes) {
      throw new PeercallError(ErrorCode.MessageTooLarge, `Message larger than ${this.#opts.maxBytes} bytes`);
    }
    const recipients = this.#opts.hub.identities();
    if (recipients.length === 0) {
      if (this.#orphans.length >= this.#opts.maxQueue) throw new PeercallError(ErrorCode.QueueFull, 'Too many messages waiting for a peer');
      this.#orphans.push(envelope);
      return { envelope, recipients };
    }
    for (const identity of recipients) {
      const box = this.#box(identity);
      if (box.size >= this.#opts.maxQueue) throw new PeercallError(ErrorCode.QueueFull, 'Too many unacknowledged messages');
    }
    for (const identity of recipients) {
      this.#box(identity).set(envelope.id, envelope);
      this.#transmit(identity, envelope);
    }
    return { envelope, recipients };
  }

  /** Best effort, never queued (e.g. "typing…"). @param {Record<string, unknown>} body */
  sendEphemeral(body) {
    const frame = JSON.stringify({ t: 'eph', body });
    for (const identity of this.#opts.hub.identities()) this.#opts.hub.channel(this.#opts.kind, identity)?.send(frame);
  }

  /** @returns {number} messages not yet acknowledged by every recipient */
  get pending() {
    let count = this.#orphans.length;
    for (const box of this.#outbox.values()) count += box.size;
    return count;
  }

  /** @param {string} identity */
  #box(identity) {
    let box = this.#outbox.get(identity);
    if (!box) this.#outbox.set(identity, (box = new Map()));
    return box;
  }

  /** @param {string} identity @param {Envelope} envelope */
  #transmit(identity, envelope) {
    const channel = this.#opts.hub.channel(this.#opts.kind, identity);
    if (!channel) return;
    channel.send(JSON.stringify({ t: 'msg', ...envelope }));
    this.#opts.onSent?.(identity, envelope.id);
  }

  /** The member's channel (re)opened: everything it has not acknowledged, in order. @param {string} identity */
  #flush(identity) {
    const box = this.#box(identity);
    for (const envelope of this.#orphans.splice(0)) box.set(envelope.id, envelope);
    for (const envelope of box.values()) this.#transmit(identity, envelope);
  }

  /** @param {string} identity @param {string | ArrayBuffer} data */
  #receive(identity, data) {
    const frame = this.#parse(data);
    if (!frame) return;
    if (frame.t === 'ack') {
      if (this.#outbox.get(identity)?.delete(/** @type {string} */ (frame.id))) this.#opts.onAck?.(identity, /** @type {string} */ (frame.id));
      return;
    }
    if (frame.t === 'eph') {
      this.#opts.onEphemeral?.(identity, /** @type {Record<string, unknown>} */ (frame.body));
      return;
    }
    const id = /** @type {string} */ (frame.id);
    // Acknowledge duplicates too: the first acknowledgement may have been lost with the old connection.
    this.#opts.hub.channel(this.#opts.kind, identity)?.send(JSON.stringify({ t: 'ack', id }));
    let seen = this.#seen.get(identity);
    if (!seen) this.#seen.set(identity, (seen = new Set()));
    if (seen.has(id)) return;
    seen.add(id);
    if (seen.size > 10_000) seen.delete(/** @type {string} */ (seen.values().next().value));
    this.#opts.onMessage(identity, { id, ts: /** @type {number} */ (frame.ts), body: /** @type {Record<string, unknown>} */ (frame.body) });
  }

  /** Validate an inbound frame; bad input is reported, never thrown. @param {string | ArrayBuffer} data */
  #parse(data) {
    const bad = (/** @type {string} */ why) => {
      this.#opts.onError(new PeercallError(ErrorCode.InvalidMessage, `Rejected a ${this.#opts.kind} message: ${why}`, { ref: this.#opts.kind }));
      return null;
    };
    if (typeof data !== 'string') return bad('binary frame on a text channel');
    if (data.length > this.#opts.maxBytes) return bad(`larger than ${this.#opts.maxBytes} bytes`);
    let frame;
    try {
      frame = JSON.parse(data);
    } catch {
      return bad('malformed JSON');
    }
    if (!isObject(frame)) return bad('not a JSON object');
    if (frame.t === 'ack') return typeof frame.id === 'string' && ID_PATTERN.test(frame.id) ? frame : bad('bad ack');
    if (frame.t === 'eph') return isObject(frame.body) ? frame : bad('bad ephemeral body');
    if (frame.t !== 'msg') return bad(`unknown frame type ${JSON.stringify(frame.t)}`);
    if (typeof frame.id !== 'string' || !ID_PATTERN.test(frame.id)) return bad('bad message id');
    if (typeof frame.ts !== 'number' || !Number.isFinite(frame.ts)) return bad('bad timestamp');
    if (!isObject(frame.body)) return bad('bad message body');
    return frame;
  }
}

/** @returns {string} a random message id (URL-safe) */
export function newId() {
  return crypto.randomUUID().replaceAll('-', '');
}
