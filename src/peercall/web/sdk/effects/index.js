/**
 * In-call video effects: background blur/replacement, region masking, custom processors.
 *
 * The controller owns one {@link EffectsPipeline} while any effect is on and swaps its
 * output into every video sender with `replaceTrack` (no renegotiation); with no effect
 * left it puts the camera track back. During a vKYC snapshot (see snapshots.js
 * `registerEffects`) the raw camera is captured instead of the processed track.
 *
 * @module effects
 */

import { backgroundProcessor, regionMaskProcessor } from './background.js';
import { EffectsPipeline } from './pipeline.js';
import { regionConsent } from './region-consent.js';
import { Segmenter } from './segmenter.js';

export { EffectsPipeline } from './pipeline.js';
export { backgroundProcessor, regionMaskProcessor } from './background.js';

/** Events emitted through the call (`call.on(EffectsEvent.Degraded, …)`). */
export const EffectsEvent = Object.freeze({
  /** Processing could not keep up or failed: quality lowered or effect bypassed. */
  Degraded: 'effectsDegraded',
  /** The set of active effects changed. */
  Changed: 'effectsChanged',
});

/** Built-in replacement backgrounds, drawn at run time (no image files to ship). */
export const BUILTIN_BACKGROUNDS = Object.freeze(['office', 'gradient', 'green']);

/**
 * @typedef {object} EffectsInit
 * @property {() => RTCPeerConnection[]} connections
 * @property {() => MediaStream | null} localStream
 * @property {(event: string, payload: object) => void} emit
 * @property {(topic: string, payload: unknown) => unknown} [send] app messages (consented masking)
 * @property {(topic: string, listener: (m: any) => void) => unknown} [onMessage]
 */

export class VideoEffects {
  #init;
  /** @type {EffectsPipeline | null} */
  #pipeline = null;
  /** @type {Segmenter | null} */
  #segmenter = null;
  /** @type {import('./pipeline.js').FrameProcessor | null} */
  #background = null;
  /** @type {import('./pipeline.js').FrameProcessor | null} */
  #region = null;
  /** @type {import('./pipeline.js').FrameProcessor[]} */
  #custom = [];
  #state = { background: /** @type {string} */ ('none'), region: /** @type {object | null} */ (null) };
  #suspended = false;
  /** @type {ReturnType<typeof regionConsent> | null} */
  #consent = null;
  #watch = /** @type {ReturnType<typeof setInterval> | 0} */ (0);

  /** @param {EffectsInit} init */
  constructor(init) {
    this.#init = init;
    const { send, onMessage } = init;
    this.#consent = send && onMessage
      ? regionConsent({ send, onMessage, emit: init.emit, apply: (rect) => this.maskRegion(rect) })
      : null;
  }

  /**
   * Host: ask the other participant to mask a rectangle of *their* outgoing video. Their app
   * sees `effectsMaskRequested {from, rect, accept(), decline()}`; nothing happens without
   * `accept()`. Resolves with their answer (false on timeout).
   * @param {{x: number, y: number, w: number, h: number, mode?: 'pixelate' | 'blur'}} rect
   */
  requestRegionMask(rect, timeoutMs = 60_000) {
    if (!this.#consent) throw new Error('app messages are not available in this call');
    return this.#consent.request(rect, timeoutMs);
  }

  /** @returns {{background: string, region: object | null, custom: string[], msPerFrame: number, segmentationMs: number}} */
  get state() {
    return {
      ...this.#state,
      custom: this.#custom.map((p) => p.name),
      msPerFrame: this.#pipeline?.msPerFrame ?? 0,
      segmentationMs: this.#segmenter?.ms ?? 0,
    };
  }

  /** The track being sent while effects are on (null: the camera goes out unprocessed). */
  get outputTrack() {
    return this.#pipeline?.output ?? null;
  }

  /** Blur the background. @param {{strength?: number}} [opts] */
  async blurBackground(opts = {}) {
    const seg = await this.#loadSegmenter();
    this.#background = backgroundProcessor(seg, { mode: 'blur', strength: opts.strength });
    this.#state.background = 'blur';
    await this.#apply();
  }

  /**
   * Replace the background with a built-in (`'office'`, `'gradient'`, `'green'`) or an image
   * the user chose (a `File`/`Blob`, decoded locally, never uploaded).
   * @param {string | Blob | CanvasImageSource} image
   */
  async replaceBackground(image) {
    const picture = typeof image === 'string' ? builtin(image) : image instanceof Blob ? await createImageBitmap(image) : image;
    const seg = await this.#loadSegmenter();
    this.#background = backgroundProcessor(seg, { mode: 'image', image: picture });
    this.#state.background = typeof image === 'string' ? image : 'custom';
    await this.#apply();
  }

  async clearBackground() {
    this.#background = null;
    this.#state.background = 'none';
    await this.#apply();
  }

  /** Mask a rectangle (fractions 0..1 of the frame); null removes it. @param {{x: number, y: number, w: number, h: number, mode?: 'pixelate' | 'blur'} | null} rect */
  async maskRegion(rect) {
    this.#region = rect ? regionMaskProcessor(rect) : null;
    this.#state.region = rect ? { ...rect } : null;
    await this.#apply();
  }

  /** Plug in a custom frame processor (runs after the built-in ones). @param {import('./pipeline.js').FrameProcessor} processor */
  async addProcessor(processor) {
    if (!processor || typeof processor.process !== 'function') throw new TypeError('a processor needs process()');
    this.#custom.push(processor);
    await this.#apply();
    return async () => {
      this.#custom = this.#custom.filter((p) => p !== processor);
      processor.dispose?.();
      await this.#apply();
    };
  }

  /** Turn everything off and send the camera again. */
  async disable() {
    this.#background = null;
    this.#region = null;
    for (const p of this.#custom) p.dispose?.();
    this.#custom = [];
    this.#state = { background: 'none', region: null };
    await this.#apply();
  }

  /** snapshots.js hook: send and capture the raw camera while a snapshot is taken. */
  get snapshotHook() {
    return {
      suspend: async () => {
        const camera = this.#pipeline?.source ?? null;
        this.#suspended = true;
        this.#pipeline?.setPaused(true);
        return camera;
      },
      resume: async () => {
        this.#suspended = false;
        this.#pipeline?.setPaused(false);
      },
    };
  }

  async #loadSegmenter() {
    if (!this.#segmenter) {
      const seg = new Segmenter({
        onAdapt: ({ recovered, ...info }) => this.#init.emit(EffectsEvent.Degraded, { reason: recovered ? 'recovered' : 'slow', ...info }),
      });
      await seg.load();
      this.#segmenter = seg;
    }
    return this.#segmenter;
  }

  #camera() {
    return this.#init.localStream()?.getVideoTracks().find((t) => t.readyState === 'live') ?? null;
  }

  async #apply() {
    const list = /** @type {import('./pipeline.js').FrameProcessor[]} */ ([this.#background, this.#region, ...this.#custom].filter(Boolean));
    const camera = this.#camera();
    if (!list.length || !camera) {
      if (this.#pipeline) {
        const old = this.#pipeline;
        this.#pipeline = null;
        await this.#swap(old.output, old.source);
        old.stop();
        clearInterval(this.#watch);
      }
    } else {
      if (this.#pipeline && this.#pipeline.source !== camera) {
        const old = this.#pipeline;
        this.#pipeline = null;
        old.stop();
      }
      if (!this.#pipeline) {
        this.#pipeline = new EffectsPipeline(camera, { onDegraded: (info) => this.#init.emit(EffectsEvent.Degraded, info) });
        await this.#swap(camera, this.#pipeline.output);
        this.#watchBudget();
      }
      this.#pipeline.setProcessors(list);
    }
    this.#init.emit(EffectsEvent.Changed, { state: this.state });
  }

  /**
   * The video must never stall because of an effect: a pipeline slower than 100 ms/frame
   * for 5 s in a row falls back to pass-through (until the effects are set again).
   */
  #watchBudget() {
    clearInterval(this.#watch);
    let slow = 0;
    this.#watch = setInterval(() => {
      const ms = this.#pipeline?.msPerFrame ?? 0;
      slow = ms > 100 ? slow + 1 : 0;
      if (slow >= 5 && this.#pipeline) {
        slow = 0;
        this.#pipeline.setProcessors([]);
        this.#init.emit(EffectsEvent.Degraded, { reason: 'too_slow', msPerFrame: Math.round(ms), fallback: 'passthrough' });
      }
    }, 1000);
  }

  /** replaceTrack on every video sender that sends `from`. @param {MediaStreamTrack} from @param {MediaStreamTrack} to */
  async #swap(from, to) {
    const senders = this.#init.connections().flatMap((pc) => (pc.signalingState === 'closed' ? [] : pc.getSenders()));
    await Promise.all(senders.filter((s) => s.track === from).map((s) => s.replaceTrack(to).catch((err) => console.warn('[peercall] effects replaceTrack', err))));
  }

  get suspended() {
    return this.#suspended;
  }
}

/** @param {string} name @returns {HTMLCanvasElement} */
function builtin(name) {
  const c = Object.assign(document.createElement('canvas'), { width: 640, height: 360 });
  const ctx = /** @type {CanvasRenderingContext2D} */ (c.getContext('2d'));
  if (name === 'green') {
    ctx.fillStyle = '#00b140';
    ctx.fillRect(0, 0, c.width, c.height);
  } else if (name === 'office') {
    ctx.fillStyle = '#d8d2c4';
    ctx.fillRect(0, 0, c.width, c.height);
    ctx.fillStyle = '#8a7f6a';
    for (let x = 40; x < c.width; x += 160) ctx.fillRect(x, 60, 90, 140);
    ctx.fillStyle = '#5b4b3a';
    ctx.fillRect(0, 280, c.width, 80);
  } else {
    const g = ctx.createLinearGradient(0, 0, c.width, c.height);
    g.addColorStop(0, '#1e3c72');
    g.addColorStop(1, '#2a9d8f');
    ctx.fillStyle = g;
    ctx.fillRect(0, 0, c.width, c.height);
  }
  return c;
}
