/**
 * Host-requested region masking, only with the participant's consent.
 *
 * Why app messages and no new signaling frame: the request concerns only the two browsers
 * (the mask is applied by the participant's own SDK), so the call's reliable peer-to-peer
 * `peercall-app` channel carries it. Nothing is masked until the participant's app calls
 * `accept()`; `decline()` (or no answer) leaves the video as it is.
 *
 * @module effects/region-consent
 */

export const MASK_REQUEST = 'peercall.effects.mask-request';
export const MASK_REPLY = 'peercall.effects.mask-reply';

/**
 * @typedef {{x: number, y: number, w: number, h: number, mode?: 'pixelate' | 'blur'}} Rect
 * @typedef {object} ConsentInit
 * @property {(topic: string, payload: unknown) => unknown} send
 * @property {(topic: string, listener: (m: {payload: any, identity: string, peerId?: string}) => void) => unknown} onMessage
 * @property {(event: string, payload: object) => void} emit
 * @property {(rect: Rect | null) => Promise<void>} apply
 */

/** @param {ConsentInit} init */
export function regionConsent(init) {
  /** @type {Map<string, (accepted: boolean) => void>} */
  const pending = new Map();
  init.onMessage(MASK_REQUEST, ({ payload, identity, peerId }) => {
    const rect = validRect(payload?.rect);
    const requestId = String(payload?.requestId ?? '').slice(0, 64);
    if (!rect || !requestId) return;
    let answered = false;
    const reply = async (/** @type {boolean} */ accepted) => {
      if (answered) return;
      answered = true;
      if (accepted) await init.apply(rect);
      init.send(MASK_REPLY, { requestId, accepted });
    };
    init.emit('effectsMaskRequested', { from: { identity, peerId }, rect, accept: () => reply(true), decline: () => reply(false) });
  });
  init.onMessage(MASK_REPLY, ({ payload }) => {
    const done = pending.get(String(payload?.requestId));
    if (done) done(Boolean(payload?.accepted));
  });
  return {
    /** Ask the other participant(s) to mask `rect`; resolves with their answer (false on timeout). @param {Rect} rect */
    request(rect, timeoutMs = 60_000) {
      const checked = validRect(rect);
      if (!checked) throw new TypeError('rect needs x, y, w, h within 0..1');
      const requestId = crypto.randomUUID();
      return new Promise((resolve) => {
        const timer = setTimeout(() => { pending.delete(requestId); resolve(false); }, timeoutMs);
        pending.set(requestId, (accepted) => { clearTimeout(timer); pending.delete(requestId); resolve(accepted); });
        init.send(MASK_REQUEST, { requestId, rect: checked });
      });
    },
  };
}

/** @param {any} r @returns {Rect | null} */
function validRect(r) {
  if (!r || typeof r !== 'object') return null;
  const nums = [r.x, r.y, r.w, r.h];
  if (!nums.every((v) => typeof v === 'number' && v >= 0 && v <= 1)) return null;
  if (r.w === 0 || r.h === 0) return null;
  return { x: r.x, y: r.y, w: r.w, h: r.h, mode: r.mode === 'blur' ? 'blur' : 'pixelate' };
}
