/**
 * A tiny typed event emitter.
 *
 * A listener that throws does not break the SDK or the other listeners: the exception is
 * re-thrown asynchronously so it still shows up in the console and in `window.onerror`.
 *
 * @module emitter
 */

/**
 * @template {Record<string, any>} EventMap map of event name to payload type
 */
export class Emitter {
  /** @type {Map<keyof EventMap, Set<(payload: any) => void>>} */
  #listeners = new Map();

  /**
   * Subscribe to an event.
   * @template {keyof EventMap} K
   * @param {K} event
   * @param {(payload: EventMap[K]) => void} listener
   * @returns {() => void} a function that removes this listener
   */
  on(event, listener) {
    if (typeof listener !== 'function') throw new TypeError('listener must be a function');
    let set = this.#listeners.get(event);
    if (!set) this.#listeners.set(event, (set = new Set()));
    set.add(listener);
    return () => this.off(event, listener);
  }

  /**
   * Subscribe to the next occurrence of an event only.
   * @template {keyof EventMap} K
   * @param {K} event
   * @param {(payload: EventMap[K]) => void} listener
   * @returns {() => void} a function that removes this listener
   */
  once(event, listener) {
    const off = this.on(event, (payload) => {
      off();
      listener(payload);
    });
    return off;
  }

  /**
   * Remove a listener added with {@link Emitter#on}.
   * @template {keyof EventMap} K
   * @param {K} event
   * @param {(payload: EventMap[K]) => void} listener
   */
  off(event, listener) {
    const set = this.#listeners.get(event);
    if (set && set.delete(listener) && set.size === 0) this.#listeners.delete(event);
  }

  /** Remove every listener of every event. */
  removeAllListeners() {
    this.#listeners.clear();
  }

  /**
   * @protected
   * @template {keyof EventMap} K
   * @param {K} event
   * @param {EventMap[K]} payload
   */
  emit(event, payload) {
    const set = this.#listeners.get(event);
    if (!set) return;
    for (const listener of [...set]) {
      try {
        listener(payload);
      } catch (err) {
        queueMicrotask(() => {
          throw err;
        });
      }
    }
  }
}
