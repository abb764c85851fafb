/**
 * Still images from video tracks, at the track's own resolution (never the size of the
 * element that shows it), and "best shot" captures from our own camera.
 *
 * - {@link captureFrame}: one decoded frame of any track (local or received):
 *   `ImageCapture.grabFrame()` where the browser has it, else a canvas sized to the
 *   video's `videoWidth × videoHeight`.
 * - {@link captureBest}: our own camera at the best resolution the device offers: the
 *   track is raised to its maximum capture size for the moment of the capture (torch and
 *   focus used where the device offers them), `ImageCapture.takePhoto()` is tried at the
 *   maximum photo size, the larger of the photo and a grabbed frame is kept, and the track
 *   is put back as it was. Which method produced the image is reported (`takePhoto`,
 *   `grabFrame` or `canvas`) and stored with the snapshot.
 *
 * @module snapshot-capture
 */

import { ErrorCode, PeercallError } from './errors.js';

/**
 * @typedef {'takePhoto' | 'grabFrame' | 'canvas'} CaptureMethod
 * @typedef {object} EncodeOptions
 * @property {'image/jpeg' | 'image/png' | 'image/webp'} [type='image/jpeg']
 * @property {number} [quality=0.95] for JPEG and WebP
 * @property {number} [maxBytes=8388608] the server's cap; JPEG/WebP quality is lowered to fit
 * @typedef {object} CapturedImage
 * @property {Blob} blob the encoded image
 * @property {number} width pixels
 * @property {number} height pixels
 * @property {CaptureMethod} method how the pixels were obtained
 * @typedef {CapturedImage & {torch: boolean, focus: string | null}} BestImage
 */

const DEFAULT_TYPE = 'image/jpeg';
const DEFAULT_MAX_BYTES = 8 * 1024 * 1024;
const sleep = (/** @type {number} */ ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * One frame of a live video track at its full resolution.
 * @param {MediaStreamTrack} track
 * @param {EncodeOptions} [options]
 * @returns {Promise<CapturedImage>}
 */
export async function captureFrame(track, options = {}) {
  liveVideo(track);
  const { source, method } = await grab(track);
  return { ...(await encode(source, options)), method };
}

/**
 * Our own camera at the best resolution it offers (see the module doc).
 * @param {MediaStreamTrack} track a camera track of ours
 * @param {EncodeOptions & {torch?: boolean, focus?: boolean}} [options] `torch`/`focus`
 *   (default true): use them when the device offers them
 * @returns {Promise<BestImage>}
 */
export async function captureBest(track, options = {}) {
  liveVideo(track);
  const restore = await raiseResolution(track);
  const extras = await useDeviceExtras(track, options);
  try {
    const target = track.getSettings();
    const frame = await grabAtLeast(track, target.width ?? 0);
    const photo = await takePhoto(track);
    const framePixels = frame.source.width * frame.source.height;
    if (photo && photo.width * photo.height > framePixels) {
      const fitted = photo.blob.size <= (options.maxBytes ?? DEFAULT_MAX_BYTES) && (!options.type || photo.blob.type === options.type);
      close(frame.source);
      const image = fitted ? { blob: photo.blob, width: photo.width, height: photo.height } : await encode(photo.bitmap, options);
      close(photo.bitmap);
      return { ...image, method: 'takePhoto', ...extras.used };
    }
    if (photo) close(photo.bitmap);
    return { ...(await encode(frame.source, options)), method: frame.method, ...extras.used };
  } finally {
    await extras.undo();
    await restore();
  }
}

/** @param {MediaStreamTrack} track */
function liveVideo(track) {
  if (!track || track.kind !== 'video' || track.readyState !== 'live') {
    throw new PeercallError(ErrorCode.InvalidArgument, 'There is no live video to capture.');
  }
}

/**
 * @param {MediaStreamTrack} track
 * @returns {Promise<{source: ImageBitmap | HTMLCanvasElement, method: CaptureMethod}>}
 */
async function grab(track) {
  if (typeof ImageCapture !== 'undefined') {
    try {
      const timeout = sleep(3_000).then(() => { throw new Error('grabFrame timed out'); });
      return { source: await Promise.race([new ImageCapture(track).grabFrame(), timeout]), method: 'grabFrame' };
    } catch { /* not for this track (e.g. no frame yet): draw it instead */ }
  }
  return { source: await drawFromVideo(track), method: 'canvas' };
}

/** A frame whose width reached `width` (the track was just resized): the old size may linger a moment. */
async function grabAtLeast(/** @type {MediaStreamTrack} */ track, /** @type {number} */ width) {
  let frame = await grab(track);
  for (let i = 0; i < 20 && frame.source.width < width; i += 1) {
    close(frame.source);
    await sleep(100);
    frame = await grab(track);
  }
  return frame;
}

/** @param {MediaStreamTrack} track @returns {Promise<HTMLCanvasElement>} */
async function drawFromVideo(track) {
  const video = document.createElement('video');
  video.muted = true;
  video.playsInline = true;
  video.srcObject = new MediaStream([track]);
  try {
    await video.play();
    for (let i = 0; i < 50 && !(video.videoWidth > 0 && video.readyState >= 2); i += 1) await sleep(20);
    if (!video.videoWidth) throw new PeercallError(ErrorCode.InvalidArgument, 'The video has no frame to capture yet.');
    const canvas = document.createElement('canvas');
    canvas.width = video.videoWidth; // the track's resolution, not any element's size
    canvas.height = video.videoHeight;
    /** @type {CanvasRenderingContext2D} */ (canvas.getContext('2d')).drawImage(video, 0, 0);
    return canvas;
  } finally {
    video.pause();
    video.srcObject = null;
  }
}

/**
 * @param {ImageBitmap | HTMLCanvasElement} source
 * @param {EncodeOptions} options
 * @returns {Promise<{blob: Blob, width: number, height: number}>}
 */
async function encode(source, options) {
  const type = options.type ?? DEFAULT_TYPE;
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_BYTES;
  let canvas = source;
  if (!(source instanceof HTMLCanvasElement)) {
    canvas = document.createElement('canvas');
    canvas.width = source.width;
    canvas.height = source.height;
    /** @type {CanvasRenderingContext2D} */ (canvas.getContext('2d')).drawImage(source, 0, 0);
    close(source);
  }
  const element = /** @type {HTMLCanvasElement} */ (canvas);
  for (let quality = options.quality ?? 0.95; ; quality -= 0.1) {
    const blob = await new Promise((resolve) => element.toBlob(resolve, type, quality));
    if (!blob) throw new PeercallError(ErrorCode.InvalidArgument, `This browser cannot encode ${type}.`);
    if (blob.size <= maxBytes) return { blob, width: element.width, height: element.height };
    if (type === 'image/png' || quality < 0.5) {
      throw new PeercallError(ErrorCode.PayloadTooLarge, `The image is larger than ${maxBytes} bytes.`);
    }
  }
}

/** @param {ImageBitmap | HTMLCanvasElement} source */
function close(source) {
  if (typeof ImageBitmap !== 'undefined' && source instanceof ImageBitmap) source.close();
}

/**
 * Raise the camera to its largest capture size; returns how to put it back.
 * @param {MediaStreamTrack} track
 * @returns {Promise<() => Promise<void>>}
 */
async function raiseResolution(track) {
  const caps = typeof track.getCapabilities === 'function' ? track.getCapabilities() : {};
  const before = track.getSettings();
  const original = track.getConstraints();
  const width = caps.width?.max;
  const height = caps.height?.max;
  if (!width || !height || (width <= (before.width ?? 0) && height <= (before.height ?? 0))) return async () => {};
  try {
    await track.applyConstraints({ ...original, width: { ideal: width }, height: { ideal: height } });
  } catch {
    return async () => {};
  }
  return async () => {
    if (track.readyState !== 'live') return;
    try {
      // Back to the size the call was using, then to the app's own constraints.
      await track.applyConstraints({ ...original, width: { ideal: before.width }, height: { ideal: before.height } });
      await track.applyConstraints(original);
    } catch { /* the device went away meanwhile */ }
  };
}

/**
 * Torch on and focus for the shot, where offered (`focus`: continuous or single-shot).
 * @param {MediaStreamTrack} track
 * @param {{torch?: boolean, focus?: boolean}} options
 */
async function useDeviceExtras(track, options) {
  /** @type {Record<string, any>} */
  const caps = typeof track.getCapabilities === 'function' ? track.getCapabilities() : {};
  /** @type {Record<string, any>} */
  const settings = track.getSettings();
  /** @type {Record<string, any>} */
  const advanced = {};
  /** @type {Record<string, any>} */
  const undo = {};
  if (options.torch !== false && caps.torch === true && !settings.torch) {
    advanced.torch = true;
    undo.torch = false;
  }
  const modes = Array.isArray(caps.focusMode) ? caps.focusMode : [];
  const focus = options.focus === false ? null : ['single-shot', 'continuous'].find((m) => modes.includes(m)) ?? null;
  if (focus && settings.focusMode !== focus) {
    advanced.focusMode = focus;
    if (settings.focusMode) undo.focusMode = settings.focusMode;
  }
  let applied = false;
  if (Object.keys(advanced).length > 0) {
    try {
      await track.applyConstraints({ ...track.getConstraints(), advanced: [advanced] });
      applied = true;
      if (advanced.torch) await sleep(150); // let the light and exposure settle
    } catch { /* offered but refused: capture without */ }
  }
  return {
    used: { torch: applied && Boolean(advanced.torch), focus: applied ? focus : (settings.focusMode === focus ? focus : null) },
    undo: async () => {
      if (!applied || track.readyState !== 'live' || Object.keys(undo).length === 0) return;
      try {
        await track.applyConstraints({ ...track.getConstraints(), advanced: [undo] });
      } catch { /* device gone */ }
    },
  };
}

/**
 * `ImageCapture.takePhoto()` at the largest photo size, decoded to learn its real size
 * (some devices ignore the requested size); null when unavailable or it fails.
 * @param {MediaStreamTrack} track
 * @returns {Promise<{blob: Blob, bitmap: ImageBitmap, width: number, height: number} | null>}
 */
async function takePhoto(track) {
  if (typeof ImageCapture === 'undefined') return null;
  try {
    const capture = new ImageCapture(track);
    /** @type {Record<string, any>} */
    const settings = {};
    try {
      const caps = await capture.getPhotoCapabilities();
      if (caps.imageWidth?.max) settings.imageWidth = caps.imageWidth.max;
      if (caps.imageHeight?.max) settings.imageHeight = caps.imageHeight.max;
    } catch { /* no photo capabilities: take the default size */ }
    const blob = await capture.takePhoto(settings);
    const bitmap = await createImageBitmap(blob);
    return { blob, bitmap, width: bitmap.width, height: bitmap.height };
  } catch {
    return null;
  }
}
