/**
 * The segmentation worker: MediaPipe Tasks `ImageSegmenter` on the CPU (XNNPACK wasm).
 *
 * Why a worker: one inference takes several milliseconds and must never block the page's
 * main thread, which runs the call (signaling, media watchdog, UI) and the compositor.
 * Why the CPU delegate: this runs where WebGL is software-rendered (no GPU); XNNPACK on
 * a small input is an order of magnitude faster there than the GPU delegate.
 *
 * Protocol (postMessage):
 * - in  `{type: 'init', wasm, model}` → out `{type: 'ready'}` | `{type: 'error', message}`
 * - in  `{type: 'frame', image: ImageBitmap, timestamp}` (transferred) →
 *   out `{type: 'mask', width, height, alpha: ArrayBuffer, ms}` (RGBA pixels, alpha = person)
 *
 * @module effects/segmenter-worker
 */

/** @type {any} */
let segmenter = null;
let lastTs = 0;

/** @param {{wasm: string, model: string}} msg */
async function init(msg) {
  const { FilesetResolver, ImageSegmenter } = await import(`${msg.wasm}vision_bundle.mjs`);
  // `true`: the ES-module wasm loader (a module worker has no importScripts).
  const fileset = await FilesetResolver.forVisionTasks(`${msg.wasm}wasm`, true);
  segmenter = await ImageSegmenter.createFromOptions(fileset, {
    baseOptions: { modelAssetPath: msg.model, delegate: 'CPU' },
    runningMode: 'VIDEO',
    outputConfidenceMasks: true,
    outputCategoryMask: false,
  });
  // The first inferences set up XNNPACK (~0.5 s): pay them here, not on the first real frames.
  const blank = new OffscreenCanvas(256, 144);
  const ctx = /** @type {OffscreenCanvasRenderingContext2D} */ (blank.getContext('2d'));
  for (let i = 0; i < 3; i++) {
    ctx.fillStyle = `rgb(${i * 80}, 90, 120)`;
    ctx.fillRect(0, 0, 256, 144);
    segment(blank.transferToImageBitmap(), i);
  }
}

/** @param {ImageBitmap} image @param {number} timestamp */
function segment(image, timestamp) {
  const t0 = performance.now();
  const ts = Math.max(lastTs + 1, Math.round(timestamp)); // VIDEO mode needs increasing timestamps
  lastTs = ts;
  /** @type {{width: number, height: number, alpha: Uint8ClampedArray} | null} */
  let out = null;
  segmenter.segmentForVideo(image, ts, (/** @type {any} */ result) => {
    const masks = result.confidenceMasks ?? [];
    // One mask per class; selfie models: [person] or [background, person].
    const mask = masks[masks.length - 1];
    if (!mask) return;
    const conf = mask.getAsFloat32Array();
    const alpha = new Uint8ClampedArray(conf.length * 4); // RGBA, only alpha used
    for (let i = 0; i < conf.length; i++) alpha[i * 4 + 3] = conf[i] * 255;
    out = { width: mask.width, height: mask.height, alpha };
  });
  image.close();
  return { out, ms: performance.now() - t0 };
}

self.onmessage = async (/** @type {MessageEvent} */ event) => {
  const msg = event.data;
  try {
    if (msg.type === 'init') {
      await init(msg);
      self.postMessage({ type: 'ready' });
    } else if (msg.type === 'frame') {
      if (!segmenter) return msg.image.close();
      const { out, ms } = segment(msg.image, msg.timestamp);
      if (!out) return self.postMessage({ type: 'mask', width: 0, height: 0, alpha: null, ms });
      const { width, height, alpha } = /** @type {{width: number, height: number, alpha: Uint8ClampedArray}} */ (out);
      self.postMessage({ type: 'mask', width, height, alpha: alpha.buffer, ms }, [alpha.buffer]);
    } else if (msg.type === 'close') {
      segmenter?.close();
      segmenter = null;
      self.close();
    }
  } catch (err) {
    self.postMessage({ type: 'error', message: String(/** @type {any} */ (err)?.message ?? err) });
  }
};
