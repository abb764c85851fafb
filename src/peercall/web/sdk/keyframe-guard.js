/**
 * Key frame guard for received video: when video frames resume after a gap (an outage,
 * an ICE restart, an address change), request a key frame from the sender at once
 * instead of waiting for the decoder's own ~3 s timer.
 *
 * Uses WebRTC Encoded Transform (`RTCRtpScriptTransform`; one shared worker passes frames
 * through untouched). Without it nothing is attached and the browser's own timers apply.
 * (The sender-side counterpart, `RTCRtpScriptTransformer.generateKeyFrame()`, does not
 * exist in Chromium 156, so the side whose network came back cannot push a key frame.)
 *
 * @module keyframe-guard
 */

/** @type {Worker | null | undefined} undefined: not created yet; null: unavailable */
let worker;
let nextId = 1;
/** @type {Map<number, (info: {requests: number, gapMs: number}) => void>} */
const listeners = new Map();
/** @type {WeakMap<RTCRtpReceiver, number>} guard id of each guarded receiver */
const guarded = new WeakMap();

function sharedWorker() {
  if (worker !== undefined) return worker;
  worker = null;
  if (typeof RTCRtpScriptTransform === 'undefined' || typeof Worker === 'undefined') return worker;
  try {
    worker = new Worker(new URL('./keyframe-worker.js', import.meta.url), { name: 'peercall-keyframe-guard' });
    worker.onmessage = ({ data }) => listeners.get(data?.id)?.(data);
  } catch {
    worker = null;
  }
  return worker;
}

/**
 * Guard one receiver. Safe for any receiver: audio is left alone.
 * @param {RTCRtpReceiver} receiver
 * @param {(info: {requests: number, gapMs: number}) => void} [onRequest] told of each key frame request
 * @returns {boolean} whether the guard is attached
 */
export function guardKeyFrames(receiver, onRequest) {
  if (receiver.track?.kind !== 'video' || /** @type {any} */ (receiver).transform) return false;
  const shared = sharedWorker();
  if (!shared) return false;
  const id = nextId++;
  try {
    /** @type {any} */ (receiver).transform = new RTCRtpScriptTransform(shared, { id, side: 'receiver' });
  } catch {
    return false;
  }
  guarded.set(receiver, id);
  if (onRequest) {
    listeners.set(id, onRequest);
    receiver.track.addEventListener('ended', () => listeners.delete(id), { once: true });
  }
  return true;
}

/**
 * Ask the sender of this receiver's video for a key frame now. For when packets flow
 * again after a stall but no frame completes: frames whose references were lost never
 * reach the worker, so its own resume check cannot fire (measured: Chromium then waits
 * ~1 s of NACKs before its own key frame request).
 * @param {RTCRtpReceiver} receiver
 * @returns {boolean} whether a request was sent (false: no guard on this receiver)
 */
export function requestKeyFrame(receiver) {
  const id = guarded.get(receiver);
  if (id === undefined || !worker) return false;
  worker.postMessage({ op: 'request', id });
  return true;
}
