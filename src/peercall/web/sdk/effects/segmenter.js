/**
 * Person segmentation with MediaPipe Selfie Segmentation, served by peercall itself
 * (`/vendor/selfie-segmentation/`, never a CDN).
 *
 * Why asynchronous: one inference costs far more than a frame period on a CPU-rendered
 * WebGL, so the pipeline never waits for it. Each `request()` starts at most one inference
 * on a small copy of the frame (landscape model, 256×144) and the compositor reuses the
 * last mask until a newer one arrives. `rateHz` and the input size drop by themselves when
 * inference is slow (see {@link Segmenter#adapt}).
 *
 * @module effects/segmenter
 */

export const SEGMENTATION_BASE = '/vendor/selfie-segmentation/';

/** @type {Promise<any> | null} */
let loading = null;

/** Load the MediaPipe script once (a classic script: it defines `SelfieSegmentation`). */
function loadLibrary(base = SEGMENTATION_BASE) {
  if (!loading) {
    loading = new Promise((resolve, reject) => {
      const g = /** @type {any} */ (globalThis);
      if (g.SelfieSegmentation) return resolve(g.SelfieSegmentation);
      const script = document.createElement('script');
      script.src = `${base}selfie_segmentation.js`;
      script.onload = () => (g.SelfieSegmentation ? resolve(g.SelfieSegmentation) : reject(new Error('segmentation library did not load')));
      script.onerror = () => { loading = null; reject(new Error('segmentation library not reachable')); };
      document.head.append(script);
    });
  }
  return loading;
}

/** Input sizes tried in order as inference gets slower (width × height). */
const SIZES = [[256, 144], [192, 108], [160, 90]];

export class Segmenter {
  #model = /** @type {any} */ (null);
  #input = Object.assign(document.createElement('canvas'), { width: 256, height: 144 });
  /** The latest mask (alpha = person), kept until a newer one arrives. */
  mask = Object.assign(document.createElement('canvas'), { width: 256, height: 144 });
  hasMask = false;
  #busy = false;
  #last = 0;
  #size = 0;
  rateHz = 15;
  /** Mean inference ms (exponential average). */
  ms = 0;
  #onAdapt;

  /** @param {{onAdapt?: (info: {width: number, height: number, rateHz: number, ms: number}) => void}} [opts] */
  constructor(opts = {}) {
    this.#onAdapt = opts.onAdapt ?? (() => {});
  }

  async load(base = SEGMENTATION_BASE) {
    const SelfieSegmentation = await loadLibrary(base);
    const model = new SelfieSegmentation({ locateFile: (/** @type {string} */ f) => `${base}${f}` });
    model.setOptions({ modelSelection: 1, selfieMode: false });
    model.onResults((/** @type {any} */ r) => {
      const ctx = /** @type {CanvasRenderingContext2D} */ (this.mask.getContext('2d'));
      ctx.clearRect(0, 0, this.mask.width, this.mask.height);
      ctx.drawImage(r.segmentationMask, 0, 0, this.mask.width, this.mask.height);
      this.hasMask = true;
    });
    await model.initialize();
    this.#model = model;
  }

  /** Start an inference on `frame` unless one runs or the rate says wait. @param {CanvasImageSource} frame */
  request(frame) {
    const now = performance.now();
    if (!this.#model || this.#busy || now - this.#last < 1000 / this.rateHz) return;
    this.#busy = true;
    this.#last = now;
    const ctx = /** @type {CanvasRenderingContext2D} */ (this.#input.getContext('2d'));
    ctx.drawImage(frame, 0, 0, this.#input.width, this.#input.height);
    this.#model.send({ image: this.#input }).then(() => {
      const took = performance.now() - now;
      this.ms = this.ms ? this.ms * 0.8 + took * 0.2 : took;
      this.adapt();
    }).catch((/** @type {unknown} */ err) => console.warn('[peercall] segmentation failed', err))
      .finally(() => { this.#busy = false; });
  }

  /** Lower the input size, then the rate, while inference takes more than half its period. */
  adapt() {
    if (this.ms <= 500 / this.rateHz) return;
    if (this.#size < SIZES.length - 1) {
      this.#size += 1;
      const [width, height] = SIZES[this.#size];
      Object.assign(this.#input, { width, height });
    } else if (this.rateHz > 2) {
      this.rateHz = Math.max(2, Math.floor(this.rateHz / 2));
    } else return;
    this.#onAdapt({ width: this.#input.width, height: this.#input.height, rateHz: this.rateHz, ms: Math.round(this.ms) });
  }

  close() {
    this.#model?.close?.();
    this.#model = null;
  }
}
