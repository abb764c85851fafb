/**
 * Background blur and replacement as a {@link import('./pipeline.js').FrameProcessor}.
 *
 * Cheap compositing on purpose (the 2D canvas is CPU-rasterized where there is no GPU):
 * no filter ever runs at full resolution. The background blur is a blurred downscale
 * (a few thousand pixels) drawn back up with bilinear smoothing; the mask edge is softened
 * at the mask's own size (256×144) once per new mask and smoothed further by the upscale.
 * Per frame that leaves four full-size draws: mask, person, background, person on top.
 *
 * @module effects/background
 */

/** @param {number} w @param {number} h */
function surface(w, h) {
  return typeof OffscreenCanvas !== 'undefined'
    ? new OffscreenCanvas(w, h)
    : Object.assign(document.createElement('canvas'), { width: w, height: h });
}

/**
 * @param {import('./segmenter.js').Segmenter} segmenter
 * @param {{mode: 'blur' | 'image', image?: CanvasImageSource, strength?: number}} options
 * @returns {import('./pipeline.js').FrameProcessor}
 */
export function backgroundProcessor(segmenter, options) {
  const person = surface(1, 1);
  const small = surface(1, 1);
  const soft = surface(1, 1);
  let softVersion = -1;
  const strength = Math.max(2, Math.min(32, options.strength ?? 12));
  return {
    name: options.mode === 'blur' ? 'background-blur' : 'background-image',
    process({ ctx, source, width, height }) {
      segmenter.request(source);
      if (!segmenter.hasMask) return; // no mask yet: pass the frame through
      const frame = /** @type {CanvasImageSource} */ (ctx.canvas); // already holds the RGB frame
      if (softVersion !== segmenter.maskVersion) {
        softVersion = segmenter.maskVersion;
        const { width: mw, height: mh } = segmenter.mask;
        if (soft.width !== mw || soft.height !== mh) Object.assign(soft, { width: mw, height: mh });
        const mctx = /** @type {CanvasRenderingContext2D} */ (soft.getContext('2d'));
        mctx.globalCompositeOperation = 'copy';
        mctx.filter = 'blur(1px)';
        mctx.drawImage(segmenter.mask, 0, 0);
        mctx.filter = 'none';
      }
      if (person.width !== width || person.height !== height) Object.assign(person, { width, height });
      const pctx = /** @type {CanvasRenderingContext2D} */ (person.getContext('2d'));
      pctx.imageSmoothingEnabled = true;
      pctx.globalCompositeOperation = 'copy';
      pctx.drawImage(soft, 0, 0, width, height);
      pctx.globalCompositeOperation = 'source-in';
      pctx.drawImage(frame, 0, 0, width, height);
      if (options.mode === 'image' && options.image) {
        ctx.drawImage(options.image, 0, 0, width, height);
      } else {
        const sw = Math.max(8, Math.round(width / strength));
        const sh = Math.max(6, Math.round(height / strength));
        if (small.width !== sw || small.height !== sh) Object.assign(small, { width: sw, height: sh });
        const sctx = /** @type {CanvasRenderingContext2D} */ (small.getContext('2d'));
        sctx.globalCompositeOperation = 'copy';
        sctx.filter = 'blur(1px)';
        sctx.drawImage(frame, 0, 0, sw, sh);
        sctx.filter = 'none';
        ctx.imageSmoothingEnabled = true;
        ctx.imageSmoothingQuality = 'low';
        ctx.drawImage(small, 0, 0, width, height);
      }
      ctx.drawImage(person, 0, 0);
    },
  };
}

/**
 * Blur or pixelate one rectangle of the outgoing video (fractions of the frame, 0..1).
 * @param {{x: number, y: number, w: number, h: number, mode?: 'pixelate' | 'blur'}} rect
 * @returns {import('./pipeline.js').FrameProcessor}
 */
export function regionMaskProcessor(rect) {
  const tiny = document.createElement('canvas');
  return {
    name: 'region-mask',
    process({ ctx, width, height }) {
      const x = Math.round(clamp(rect.x) * width);
      const y = Math.round(clamp(rect.y) * height);
      const w = Math.max(1, Math.round(clamp(rect.w) * width));
      const h = Math.max(1, Math.round(clamp(rect.h) * height));
      const cell = rect.mode === 'blur' ? 24 : 16;
      Object.assign(tiny, { width: Math.max(1, Math.ceil(w / cell)), height: Math.max(1, Math.ceil(h / cell)) });
      const tctx = /** @type {CanvasRenderingContext2D} */ (tiny.getContext('2d'));
      tctx.drawImage(/** @type {any} */ (ctx.canvas), x, y, w, h, 0, 0, tiny.width, tiny.height);
      ctx.imageSmoothingEnabled = rect.mode === 'blur';
      if (rect.mode === 'blur') ctx.filter = 'blur(6px)';
      ctx.drawImage(tiny, x, y, w, h);
      ctx.filter = 'none';
      ctx.imageSmoothingEnabled = true;
    },
  };
}

/** @param {number} v */
function clamp(v) {
  return Math.max(0, Math.min(1, Number(v) || 0));
}
