/**
 * App messages: `call.send(topic, payload)` / `call.onMessage(topic, listener)`, so an
 * integrator can run their own tools (quizzes, co-browsing, annotations…) over the call's
 * peer-to-peer `peercall-app` channel without touching peercall's code.
 *
 * Why `onMessage` and not `call.on(topic)`: `call.on` carries the Call's own events
 * (`peerJoined`, `ended`, …); a customer topic named like one of them would collide.
 *
 * Payloads are JSON values of at most {@link MAX_APP_MESSAGE_BYTES} bytes (encoded with their
 * topic); delivery is reliable, ordered and exactly-once across reconnections (reliable.js).
 *
 * @module app-messages
 */

import { ErrorCode, PeercallError } from './errors.js';
import { ReliableMessenger, utf8Length } from './reliable.js';

/** Largest app message: topic + JSON payload, UTF-8 encoded. */
export const MAX_APP_MESSAGE_BYTES = 16 * 1024;
/** Topics: 1–64 characters of letters, digits and `. _ : / -`. */
export const TOPIC_PATTERN = /^[A-Za-z0-9._:/-]{1,64}$/;

/**
 * @typedef {object} AppMessage
 * @property {string} topic
 * @property {unknown} payload the parsed JSON value
 * @property {string} identity the sender's identity
 * @property {string | undefined} peerId the sender's current peer id
 * @property {string} id
 * @property {number} ts sender's clock, ms since the epoch
 */

export class AppMessages {
  #hub;
  #messenger;
  /** @type {Map<string, Set<(message: AppMessage) => void>>} */
  #listeners = new Map();
  #onError;

  /**
   * @param {import('./data-channels.js').DataHub} hub
   * @param {(error: PeercallError) => void} onError invalid input from a member
   */
  constructor(hub, onError) {
    this.#hub = hub;
    this.#onError = onError;
    this.#messenger = new ReliableMessenger({
      kind: 'app',
      hub,
      maxBytes: MAX_APP_MESSAGE_BYTES + 256, // room for the envelope
      onMessage: (identity, { id, ts, body }) => this.#received(identity, id, ts, body),
      onError,
    });
  }

  /**
   * @param {string} topic
   * @param {unknown} payload any JSON value
   * @returns {string} the message id
   * @throws {PeercallError} `invalid_argument` (bad topic, not JSON), `message_too_large`, `queue_full`
   */
  send(topic, payload) {
    checkTopic(topic);
    let json;
    try {
      json = JSON.stringify(payload);
    } catch (err) {
      throw new PeercallError(ErrorCode.InvalidArgument, `The payload is not JSON: ${/** @type {Error} */ (err).message}`, { cause: err });
    }
    if (json === undefined) throw new PeercallError(ErrorCode.InvalidArgument, 'The payload is not a JSON value');
    if (utf8Length(json) + utf8Length(topic) > MAX_APP_MESSAGE_BYTES) {
      throw new PeercallError(ErrorCode.MessageTooLarge, `An app message has at most ${MAX_APP_MESSAGE_BYTES} bytes`);
    }
    return this.#messenger.send({ topic, payload: JSON.parse(json) }).envelope.id;
  }

  /**
   * @param {string} topic
   * @param {(message: AppMessage) => void} listener
   * @returns {() => void} unsubscribes
   */
  on(topic, listener) {
    checkTopic(topic);
    if (typeof listener !== 'function') throw new PeercallError(ErrorCode.InvalidArgument, 'listener must be a function');
    let set = this.#listeners.get(topic);
    if (!set) this.#listeners.set(topic, (set = new Set()));
    set.add(listener);
    return () => { set?.delete(listener); };
  }

  /** @param {string} identity @param {string} id @param {number} ts @param {Record<string, unknown>} body */
  #received(identity, id, ts, body) {
    const { topic, payload } = body;
    if (typeof topic !== 'string' || !TOPIC_PATTERN.test(topic) || payload === undefined) {
      this.#onError(new PeercallError(ErrorCode.InvalidMessage, 'Rejected an app message without a valid topic and payload', { ref: 'app' }));
      return;
    }
    const message = { topic, payload, identity, peerId: this.#hub.peerIdOf(identity), id, ts };
    for (const listener of [...(this.#listeners.get(topic) ?? [])]) {
      try {
        listener(message);
      } catch (err) {
        queueMicrotask(() => { throw err; });
      }
    }
  }
}

/** @param {unknown} topic */
function checkTopic(topic) {
  if (typeof topic !== 'string' || !TOPIC_PATTERN.test(topic)) {
    throw new PeercallError(ErrorCode.InvalidArgument, 'A topic is 1-64 characters of letters, digits and . _ : / -');
  }
}
