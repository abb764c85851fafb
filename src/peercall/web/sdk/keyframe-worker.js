/**
 * Worker side of {@link module:keyframe-guard}: passes every received encoded video frame
 * through unchanged and asks the sender for a key frame the moment frames resume after a
 * gap with a frame the decoder cannot use (a delta frame: its references were lost).
 *
 * Why: after a network outage the receiver holds delta frames it cannot decode, and
 * Chromium re-requests a key frame on its own only every ~3 s.
 */

/** @type {Map<number, any>} live transformers by guard id, for requests from the page */
const transformers = new Map();

/** @param {any} transformer RTCRtpScriptTransformer */
function guardReceiver(transformer) {
  const { id, gapMs = 400, minIntervalMs = 1_000 } = transformer.options ?? {};
  transformers.set(id, transformer);
  let lastFrameAt = 0;
  let lastRequestAt = -Infinity;
  let requests = 0;
  transformer.readable
    .pipeThrough(new TransformStream({
      transform(frame, controller) {
        const now = performance.now();
        const resumed = lastFrameAt > 0 && now - lastFrameAt >= gapMs;
        if (resumed && frame.type === 'delta' && now - lastRequestAt >= minIntervalMs) {
          lastRequestAt = now;
          requests += 1;
          Promise.resolve(transformer.sendKeyFrameRequest?.()).catch(() => {});
          self.postMessage({ id, requests, gapMs: Math.round(now - lastFrameAt) });
        }
        lastFrameAt = now;
        controller.enqueue(frame);
      },
    }))
    .pipeTo(transformer.writable)
    .catch(() => {}) // the receiver went away: nothing to clean up
    .finally(() => transformers.delete(id));
}

// The page saw packets flow again while no frame could be assembled (their references
// were lost in the outage, so this worker sees no frame at all): ask for a key frame now.
self.onmessage = ({ data }) => {
  if (data?.op === 'request') Promise.resolve(transformers.get(data.id)?.sendKeyFrameRequest?.()).catch(() => {});
};

self.onrtctransform = ({ transformer }) => guardReceiver(transformer);
