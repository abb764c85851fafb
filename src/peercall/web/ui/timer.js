/** A mm:ss call timer rendered into an element. */

/**
 * @param {number} ms
 * @returns {string} `mm:ss`, or `h:mm:ss` past one hour
 */
export function formatDuration(ms) {
  const total = Math.max(0, Math.floor(ms / 1000));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  const mmss = `${String(m).padStart(2, '0')}:${String(s).padStart(2, '0')}`;
  return h > 0 ? `${h}:${mmss}` : mmss;
}

export class CallTimer {
  /** @type {number | null} */
  #startedAt = null;
  /** @type {number | null} */
  #stoppedAt = null;
  /** @type {ReturnType<typeof setInterval> | undefined} */
  #interval;

  /** @param {HTMLElement} element */
  constructor(element) {
    this.element = element;
  }

  get running() {
    return this.#startedAt !== null && this.#stoppedAt === null;
  }

  /** Milliseconds since start (frozen once stopped); 0 if never started. */
  get elapsedMs() {
    if (this.#startedAt === null) return 0;
    return (this.#stoppedAt ?? performance.now()) - this.#startedAt;
  }

  /** Start counting from zero (no-op when already started). */
  start() {
    if (this.#startedAt !== null) return;
    this.#startedAt = performance.now();
    this.element.hidden = false;
    this.#render();
    this.#interval = setInterval(() => this.#render(), 250);
  }

  stop() {
    if (this.#startedAt === null || this.#stoppedAt !== null) return;
    this.#stoppedAt = performance.now();
    clearInterval(this.#interval);
    this.#render();
  }

  #render() {
    const text = formatDuration(this.elapsedMs);
    if (this.element.textContent !== text) this.element.textContent = text;
  }
}
