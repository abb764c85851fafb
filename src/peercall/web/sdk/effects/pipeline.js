/**
 * The outgoing-video pipeline: camera track → frame processors → output track.
 *
 * Why this shape: the output track is swapped into every video sender with
 * `RTCRtpSender.replaceTrack`, so effects go on and off mid-call without renegotiation.
 * Frames come from insertable streams (`MediaStreamTrackProcessor`/`Generator`) where the
 * browser has them, else from a `<video>` element paced by `requestVideoFrameCallback`
 * and a `canvas.captureStream()`. A processor that throws or cannot keep up never
 * freezes the call: the frame goes out unprocessed and the caller is told (`onDegraded`).
 *
 * @module effects/pipeline
 */

/**
 * A frame processor (the public plug-in API, see docs/effects.md).
 * @typedef {object} FrameProcessor
 * @property {string} name
 * @property {(frame: ProcessInput) => void | Promise<void>} process draw onto `ctx`, which
 *   already holds the camera frame (`source`, same size) or the previous processor's output
 * @property {() => void} [dispose]
 *
 * @typedef {object} ProcessInput
 * @property {OffscreenCanvasRenderingContext2D | CanvasRenderingContext2D} ctx
 * @property {CanvasImageSource} source the unprocessed camera frame
 * @property {number} width @property {number} height @property {number} timestamp ms
 */

const BUDGET_WINDOW = 30; // frames averaged for the processing-time figure

export class EffectsPipeline {
  #source;
  /** @type {FrameProcessor[]} */
  #processors = [];
  #running = true;
  /** @type {MediaStreamTrack} */
  output;
  #canvas;
  #ctx;
  #times = /** @type {number[]} */ ([]);
  #onDegraded;
  #bypass = false;
  #paused = false;
  /** @type {(() => void) | null} */
  #stop = null;

  /**
   * @param {MediaStreamTrack} source the camera track (not stopped by the pipeline)
   * @param {{onDegraded?: (info: {processor: string, reason: string}) => void}} [opts]
   */
  constructor(source, opts = {}) {
    this.#source = source;
    this.#onDegraded = opts.onDegraded ?? (() => {});
    const { width = 640, height = 480 } = source.getSettings();
    this.#canvas = typeof OffscreenCanvas !== 'undefined' && hasInsertable()
      ? new OffscreenCanvas(width, height)
      : Object.assign(document.createElement('canvas'), { width, height });
    this.#ctx = /** @type {CanvasRenderingContext2D} */ (this.#canvas.getContext('2d', { alpha: false, desynchronized: true }));
    this.output = hasInsertable() ? this.#startInsertable() : this.#startCanvas();
  }

  /** @param {FrameProcessor[]} list processors applied in order */
  setProcessors(list) {
    this.#processors = [...list];
    this.#bypass = false;
  }

  /** Skip processors (e.g. while a vKYC snapshot is taken): frames pass through. @param {boolean} on */
  setPaused(on) {
    this.#paused = on;
  }

  /** Mean processing ms per frame over the last frames (all processors). */
  get msPerFrame() {
    return this.#times.length ? this.#times.reduce((a, b) => a + b, 0) / this.#times.length : 0;
  }

  get source() {
    return this.#source;
  }

  /** Stop processing and end the output track (the camera stays live). */
  stop() {
    this.#running = false;
    this.#stop?.();
    this.output.stop();
  }

  /** @param {CanvasImageSource} frame @param {number} w @param {number} h @param {number} ts */
  async #process(frame, w, h, ts) {
    if (this.#canvas.width !== w || this.#canvas.height !== h) Object.assign(this.#canvas, { width: w, height: h });
    const t0 = performance.now();
    this.#ctx.drawImage(frame, 0, 0, w, h);
    if (this.#bypass || this.#paused) return;
    for (const p of this.#processors) {
      try {
        this.#ctx.save();
        await p.process({ ctx: this.#ctx, source: frame, width: w, height: h, timestamp: ts });
      } catch (err) {
        console.warn('[peercall] effect failed, sending unprocessed video', err);
        this.#bypass = true;
        this.#ctx.drawImage(frame, 0, 0, w, h);
        this.#onDegraded({ processor: p.name, reason: 'error' });
        return;
      } finally {
        this.#ctx.restore();
      }
    }
    this.#times.push(performance.now() - t0);
    if (this.#times.length > BUDGET_WINDOW) this.#times.shift();
  }

  /** @returns {MediaStreamTrack} */
  #startInsertable() {
    const MSTP = /** @type {any} */ (globalThis).MediaStreamTrackProcessor;
    const MSTG = /** @type {any} */ (globalThis).MediaStreamTrackGenerator;
    const reader = new MSTP({ track: this.#source }).readable.getReader();
    const generator = new MSTG({ kind: 'video' });
    const writer = generator.writable.getWriter();
    this.#stop = () => reader.cancel().catch(() => {});
    const loop = async () => {
      while (this.#running) {
        const { value: frame, done } = await reader.read();
        if (done || !frame) break;
        try {
          await this.#process(frame, frame.displayWidth, frame.displayHeight, frame.timestamp / 1000);
          const out = new VideoFrame(/** @type {OffscreenCanvas} */ (this.#canvas), { timestamp: frame.timestamp });
          await writer.write(out);
        } catch (err) {
          if (!this.#running) break;
          console.warn('[peercall] effects frame dropped', err);
        } finally {
          frame.close();
        }
      }
    };
    loop();
    return generator;
  }

  /** @returns {MediaStreamTrack} */
  #startCanvas() {
    const video = document.createElement('video');
    Object.assign(video, { muted: true, playsInline: true, srcObject: new MediaStream([this.#source]) });
    video.play().catch(() => {});
    const canvas = /** @type {HTMLCanvasElement} */ (this.#canvas);
    const [track] = canvas.captureStream().getVideoTracks();
    /** @type {number} */
    let handle = 0;
    const tick = async (/** @type {number} */ now) => {
      if (!this.#running) return;
      if (video.videoWidth) await this.#process(video, video.videoWidth, video.videoHeight, now);
      handle = video.requestVideoFrameCallback(tick);
    };
    handle = video.requestVideoFrameCallback(tick);
    this.#stop = () => { video.cancelVideoFrameCallback(handle); video.srcObject = null; };
    return track;
  }
}

function hasInsertable() {
  return typeof globalThis !== 'undefined' && 'MediaStreamTrackProcessor' in globalThis && 'MediaStreamTrackGenerator' in globalThis;
}
