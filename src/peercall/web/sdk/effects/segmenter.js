/**
 * Person segmentation off the main thread: MediaPipe Tasks `ImageSegmenter` (CPU delegate)
 * in a module worker (`segmenter-worker.js`). Everything is served by peercall itself
 * (runtime at `/vendor/tasks-vision/`, model at `/vendor/selfie-segmentation/`), never a CDN.
 *
 * Why asynchronous: the compositor never waits for a mask. Each `request()` posts at most
 * one small copy of the frame (landscape model, 256×144) to the worker and the compositor
 * reuses the last mask until a newer one arrives. `rateHz` and the input size drop by
 * themselves when inference is slow (see {@link Segmenter#adapt}).
 *
 * @module effects/segmenter
 */

export const TASKS_BASE = '/vendor/tasks-vision/';
export const MODEL_URL = new URL('./model/selfie_segmentation_landscape.tflite', import.meta.url).href;
const WORKER_URL = new URL('./segmenter-worker.js', import.meta.url);

const WARM_UP = 10; // masks not averaged: the first real frames still run slow
const MAX_RATE_HZ = 15;
const RECOVER_AFTER = 45; // masks (3 s at 15 Hz)

/** Input sizes tried in order as inference gets slower (width × height). */
const SIZES = [[256, 144], [192, 108], [160, 90]];

/** @param {number} w @param {number} h */
function canvas(w, h) {
  return typeof OffscreenCanvas !== 'undefined'
    ? new OffscreenCanvas(w, h)
    : Object.assign(document.createElement('canvas'), { width: w, height: h });
}

export class Segmenter {
  /** @type {Worker | null} */
  #worker = null;
  #input = canvas(256, 144);
  /** The latest mask (alpha = person), kept until a newer one arrives. */
  mask = canvas(256, 144);
  hasMask = false;
  /** Bumped on every new mask (lets the compositor redo per-mask work only then). */
  maskVersion = 0;
  #warm = 0;
  #busy = false;
  #last = 0;
  #size = 0;
  rateHz = MAX_RATE_HZ;
  #fast = 0;
  /** Mean inference ms in the worker (exponential average). */
  ms = 0;
  #onAdapt;

  /** @param {{onAdapt?: (info: {width: number, height: number, rateHz: number, ms: number, recovered?: boolean}) => void}} [opts] */
  constructor(opts = {}) {
    this.#onAdapt = opts.onAdapt ?? (() => {});
  }

  /** Start the worker and load the model; rejects when either fails. */
  async load(base = TASKS_BASE, model = MODEL_URL) {
    const worker = new Worker(WORKER_URL, { type: 'module', name: 'peercall-segmenter' });
    await new Promise((resolve, reject) => {
      worker.onmessage = (event) => (event.data.type === 'ready' ? resolve(null) : reject(new Error(event.data.message)));
      worker.onerror = (event) => reject(new Error(event.message || 'segmentation worker failed to start'));
      worker.postMessage({ type: 'init', wasm: new URL(base, location.href).href, model: new URL(model, location.href).href });
    }).catch((err) => {
      worker.terminate();
      throw err;
    });
    worker.onmessage = (event) => this.#onMessage(event.data);
    worker.onerror = (event) => {
      this.#busy = false;
      console.warn('[peercall] segmentation worker error', event.message);
    };
    this.#worker = worker;
  }

  /** @param {any} msg */
  #onMessage(msg) {
    this.#busy = false;
    if (msg.type === 'error') {
      console.warn('[peercall] segmentation failed', msg.message);
      return;
    }
    if (msg.type !== 'mask') return;
    // The first real frames are still slow (wasm/XNNPACK warm-up): no average, no adapting.
    if (++this.#warm > WARM_UP) this.ms = this.ms ? this.ms * 0.8 + msg.ms * 0.2 : msg.ms;
    if (msg.alpha) {
      if (this.mask.width !== msg.width || this.mask.height !== msg.height) Object.assign(this.mask, { width: msg.width, height: msg.height });
      const ctx = /** @type {CanvasRenderingContext2D} */ (this.mask.getContext('2d'));
      ctx.putImageData(new ImageData(new Uint8ClampedArray(msg.alpha), msg.width, msg.height), 0, 0);
      this.hasMask = true;
      this.maskVersion += 1;
    }
    if (this.ms) this.adapt();
  }

  /** Start an inference on `frame` unless one runs or the rate says wait. @param {CanvasImageSource} frame */
  request(frame) {
    const now = performance.now();
    if (!this.#worker || this.#busy || now - this.#last < 1000 / this.rateHz) return;
    this.#busy = true;
    this.#last = now;
    const ctx = /** @type {CanvasRenderingContext2D} */ (this.#input.getContext('2d'));
    ctx.drawImage(frame, 0, 0, this.#input.width, this.#input.height);
    const send = (/** @type {ImageBitmap} */ image) => this.#worker?.postMessage({ type: 'frame', image, timestamp: now }, [image]);
    if ('transferToImageBitmap' in this.#input) send(this.#input.transferToImageBitmap());
    else createImageBitmap(this.#input).then(send, () => { this.#busy = false; });
  }

  /**
   * Lower the input size, then the rate, while inference takes more than half its period;
   * step back up (rate first) after {@link RECOVER_AFTER} masks at under a quarter of it,
   * so a burst of load on a busy machine does not cost quality for the rest of the call.
   */
  adapt() {
    const period = 1000 / this.rateHz;
    if (this.ms <= period / 2) {
      this.#fast = this.ms < period / 4 ? this.#fast + 1 : 0;
      if (this.#fast < RECOVER_AFTER) return;
      this.#fast = 0;
      if (this.rateHz < MAX_RATE_HZ) this.rateHz = Math.min(MAX_RATE_HZ, this.rateHz * 2);
      else if (this.#size > 0) this.#resize(this.#size - 1);
      else return;
      this.#onAdapt({ ...this.#info(), recovered: true });
      return;
    }
    this.#fast = 0;
    if (this.#size < SIZES.length - 1) this.#resize(this.#size + 1);
    else if (this.rateHz > 2) this.rateHz = Math.max(2, Math.floor(this.rateHz / 2));
    else return;
    this.#onAdapt(this.#info());
  }

  /** @param {number} index into SIZES */
  #resize(index) {
    this.#size = index;
    const [width, height] = SIZES[index];
    Object.assign(this.#input, { width, height });
  }

  #info() {
    return { width: this.#input.width, height: this.#input.height, rateHz: this.rateHz, ms: Math.round(this.ms) };
  }

  close() {
    this.#worker?.postMessage({ type: 'close' });
    this.#worker = null;
  }
}
