/**
 * In-call text chat (`call.chat`): peer to peer over the `peercall-chat` data channel.
 *
 * Each message has an id, a timestamp (sender's clock, ms) and a delivery receipt (the
 * receiver's acknowledgement). Messages typed while the connection is down are queued and
 * delivered once it is back, even on a replaced connection (see reliable.js): nothing
 * lost, nothing duplicated. When the room keeps a transcript (`chat_archive`), each sent
 * message is also handed to the server over signaling.
 *
 * @module chat
 */

import { Emitter } from './emitter.js';
import { ErrorCode, PeercallError } from './errors.js';
import { ReliableMessenger } from './reliable.js';

/** Longest message text, in characters. */
export const MAX_CHAT_TEXT = 4000;
const MAX_FRAME_BYTES = 16 * 1024;
/** A "typing" indicator expires after this long without a refresh. */
const TYPING_TTL_MS = 4000;

/**
 * Names of the chat events; subscribe with `call.chat.on(ChatEvent.X, listener)`.
 * @readonly
 */
export const ChatEvent = Object.freeze({
  /** `{message}`: a message arrived, or we sent one (`message.mine`). */
  Message: 'message',
  /** `{message, identity}`: a member received our message (its delivery receipt). */
  Delivered: 'delivered',
  /** `{identity, peerId, typing}`: a member started or stopped typing. */
  Typing: 'typing',
  /** `{error}`: a member sent something invalid (`invalid_message`); the call goes on. */
  Error: 'error',
});

/**
 * @typedef {object} ChatMessage
 * @property {string} id unique message id
 * @property {number} ts when it was sent (sender's clock, ms since the epoch)
 * @property {string} from the sender's identity
 * @property {string} text
 * @property {boolean} mine sent by us
 * @property {'queued' | 'sent' | 'delivered'} status ours: waiting for a connection, on the wire, received
 */

/**
 * @typedef {object} ChatEvents
 * @property {{message: ChatMessage}} message
 * @property {{message: ChatMessage, identity: string}} delivered
 * @property {{identity: string, peerId: string | undefined, typing: boolean}} typing
 * @property {{error: PeercallError}} error
 */

/**
 * @typedef {object} ChatOptions
 * @property {import('./data-channels.js').DataHub} hub
 * @property {() => string} selfIdentity
 * @property {(message: ChatMessage) => void} archive called for each message we send
 */

/** @extends {Emitter<ChatEvents>} */
export class Chat extends Emitter {
  #hub;
  #selfIdentity;
  #archive;
  #messenger;
  /** @type {ChatMessage[]} */
  #history = [];
  /** @type {Map<string, ChatMessage>} our messages by id */
  #mine = new Map();
  /** @type {Map<string, ReturnType<typeof setTimeout>>} typing expiry per member */
  #typing = new Map();
  #typingSentAt = 0;

  /** @param {ChatOptions} options */
  constructor({ hub, selfIdentity, archive }) {
    super();
    this.#hub = hub;
    this.#selfIdentity = selfIdentity;
    this.#archive = archive;
    this.#messenger = new ReliableMessenger({
      kind: 'chat',
      hub,
      maxBytes: MAX_FRAME_BYTES,
      onMessage: (identity, { id, ts, body }) => this.#received(identity, id, ts, body),
      onEphemeral: (identity, body) => { if (typeof body.typing === 'boolean') this.#setTyping(identity, body.typing); },
      onAck: (identity, id) => this.#delivered(identity, id),
      onSent: (_identity, id) => {
        const message = this.#mine.get(id);
        if (message && message.status === 'queued') message.status = 'sent';
      },
      onError: (error) => this.emit(ChatEvent.Error, { error }),
    });
  }

  /** @returns {ChatMessage[]} every message of this call so far, oldest first */
  get messages() {
    return this.#history.map((message) => ({ ...message }));
  }

  /** @returns {number} our messages not yet received by every member */
  get pending() {
    return this.#messenger.pending;
  }

  /**
   * Send a message to everyone in the call; queued while the connection is down.
   * @param {string} text 1 to {@link MAX_CHAT_TEXT} characters
   * @returns {ChatMessage}
   * @throws {PeercallError} `invalid_argument`, `message_too_large`, `queue_full`
   */
  send(text) {
    if (typeof text !== 'string' || text.trim() === '') throw new PeercallError(ErrorCode.InvalidArgument, 'A chat message needs some text');
    if (text.length > MAX_CHAT_TEXT) throw new PeercallError(ErrorCode.MessageTooLarge, `A chat message has at most ${MAX_CHAT_TEXT} characters`);
    const { envelope } = this.#messenger.send({ text });
    const open = this.#hub.identities().some((identity) => this.#hub.channel('chat', identity));
    /** @type {ChatMessage} */
    const message = { id: envelope.id, ts: envelope.ts, from: this.#selfIdentity(), text, mine: true, status: open ? 'sent' : 'queued' };
    this.#mine.set(message.id, message);
    this.#history.push(message);
    this.#typingSentAt = 0;
    this.#messenger.sendEphemeral({ typing: false });
    this.#archive(message);
    this.emit(ChatEvent.Message, { message: { ...message } });
    return { ...message };
  }

  /**
   * Tell the others we are typing (call on each keystroke; throttled) or stopped.
   * @param {boolean} [typing=true]
   */
  typing(typing = true) {
    const now = Date.now();
    if (typing && now - this.#typingSentAt < TYPING_TTL_MS / 2) return;
    this.#typingSentAt = typing ? now : 0;
    this.#messenger.sendEphemeral({ typing });
  }

  /** Stop timers (the call ended). */
  close() {
    for (const timer of this.#typing.values()) clearTimeout(timer);
    this.#typing.clear();
  }

  /** @param {string} identity @param {string} id @param {number} ts @param {Record<string, unknown>} body */
  #received(identity, id, ts, body) {
    const text = body.text;
    if (typeof text !== 'string' || text.length === 0 || text.length > MAX_CHAT_TEXT) {
      this.emit(ChatEvent.Error, { error: new PeercallError(ErrorCode.InvalidMessage, 'Rejected a chat message without valid text', { ref: 'chat' }) });
      return;
    }
    this.#setTyping(identity, false);
    /** @type {ChatMessage} */
    const message = { id, ts, from: identity, text, mine: false, status: 'delivered' };
    this.#history.push(message);
    this.emit(ChatEvent.Message, { message: { ...message } });
  }

  /** @param {string} identity @param {string} id */
  #delivered(identity, id) {
    const message = this.#mine.get(id);
    if (!message) return;
    message.status = 'delivered';
    this.emit(ChatEvent.Delivered, { message: { ...message }, identity });
  }

  /** @param {string} identity @param {boolean} typing */
  #setTyping(identity, typing) {
    const was = this.#typing.has(identity);
    clearTimeout(this.#typing.get(identity));
    this.#typing.delete(identity);
    if (typing) this.#typing.set(identity, setTimeout(() => this.#setTyping(identity, false), TYPING_TTL_MS));
    if (was !== typing) this.emit(ChatEvent.Typing, { identity, peerId: this.#hub.peerIdOf(identity), typing });
  }
}
