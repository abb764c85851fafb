/**
 * Upload budgeting for full-mesh rooms. In a mesh every camera is sent once per other
 * member, so the *upload* of each member is what runs out first: 2.5 Mbit/s towards each of
 * three peers would ask a home uplink for 7.5 Mbit/s. libwebrtc estimates bandwidth per
 * peer connection and does not know that the connections share one uplink, so the SDK caps
 * each video sender itself (`RTCRtpSender.setParameters`):
 *
 * - a per-sender ceiling from the number of remote receivers ({@link MESH_TIERS});
 * - in a group (2+ connections), a share of the measured uplink when it is short: once the
 *   connections are past their start-up ramp, if a connection's bandwidth estimate
 *   (`availableOutgoingBitrate`) is below its cap *and* its encoder reports
 *   `qualityLimitationReason: bandwidth`, the uplink is congested and the sum of the
 *   estimates is split evenly over the receivers (10 % kept for audio and data channels).
 *   An estimate alone proves nothing (an application-limited sender's estimate stays low),
 *   and estimates never exceed much what the caps let through, so a lowered plan is lifted
 *   again after a few uncongested rounds rather than trusted forever (it would ratchet down).
 *   A 1:1 call is left to libwebrtc's own estimate;
 * - `scaleResolutionDownBy` so a small budget sends fewer pixels instead of a smeared picture,
 *   and `degradationPreference` (`maintain-resolution` for screen shares: text stays legible).
 *
 * The plan is re-applied when someone joins or leaves, when a connection (re)connects, and
 * every few seconds as the measured uplink changes. `call.bandwidth.plan` shows the last
 * plan; the applied values read back with `sender.getParameters()`.
 *
 * @module mesh-bandwidth
 */

/**
 * Ceiling per video sender by number of remote receivers (the last tier covers more).
 * @type {ReadonlyArray<{remotes: number, maxBitrate: number, scaleResolutionDownBy: number}>}
 */
export const MESH_TIERS = Object.freeze([
  Object.freeze({ remotes: 1, maxBitrate: 2_500_000, scaleResolutionDownBy: 1 }),
  Object.freeze({ remotes: 2, maxBitrate: 1_200_000, scaleResolutionDownBy: 1 }),
  Object.freeze({ remotes: 3, maxBitrate: 800_000, scaleResolutionDownBy: 1.5 }),
  Object.freeze({ remotes: 4, maxBitrate: 500_000, scaleResolutionDownBy: 2 }),
]);

/** Never cap a sender below this: under it the picture is useless anyway, BWE takes over. */
export const MIN_SENDER_BITRATE = 150_000;
/** Share of the measured uplink given to video (the rest: audio, data channels, RTCP). */
const VIDEO_SHARE = 0.9;
const REBALANCE_MS = 5_000;
/** Estimates ramp up for the first seconds of a connection: not a sign of congestion. */
const WARMUP_MS = 12_000;
/** Uncongested rounds before a lowered plan is lifted back to its tier. */
const CALM_ROUNDS = 3;

/**
 * @typedef {object} SenderPlan
 * @property {number} remotes receivers of our camera
 * @property {number} maxBitrate bits/s per video sender
 * @property {number} scaleResolutionDownBy
 * @property {number | null} uplinkBps the uplink figure the plan used (null: not measured yet)
 */

/**
 * The caps for `remotes` receivers on an uplink of `uplinkBps` (null: unknown, tier only).
 * @param {number} remotes
 * @param {number | null} uplinkBps
 * @returns {SenderPlan}
 */
export function planSenders(remotes, uplinkBps) {
  const count = Math.max(1, remotes);
  const tier = MESH_TIERS[Math.min(count, MESH_TIERS.length) - 1];
  // Beyond the last tier (a cap above 4): the same total upload, split over more receivers.
  let maxBitrate = Math.min(tier.maxBitrate, Math.floor(MESH_TIERS[0].maxBitrate / count));
  let scale = tier.scaleResolutionDownBy;
  if (uplinkBps !== null && uplinkBps > 0) {
    const share = Math.floor((uplinkBps * VIDEO_SHARE) / count);
    if (share < maxBitrate) {
      maxBitrate = Math.max(MIN_SENDER_BITRATE, share);
      // Fewer pixels for a small budget: ~0.1 bit per pixel per frame at 30 fps.
      if (maxBitrate < 300_000) scale = Math.max(scale, 2);
    }
  }
  return { remotes: count, maxBitrate, scaleResolutionDownBy: scale, uplinkBps };
}

/**
 * Apply a plan to one video sender; a sender not negotiated yet (no encodings) is skipped and
 * gets the plan on the next rebalance.
 * @param {RTCRtpSender} sender
 * @param {SenderPlan} plan
 * @returns {Promise<boolean>} applied
 */
export async function applyPlan(sender, plan) {
  const params = /** @type {any} */ (sender.getParameters());
  const [encoding] = params.encodings ?? [];
  if (!encoding) return false;
  const screen = sender.track?.contentHint === 'detail' || sender.track?.contentHint === 'text';
  const scale = screen ? 1 : plan.scaleResolutionDownBy;
  if (encoding.maxBitrate === plan.maxBitrate && encoding.scaleResolutionDownBy === scale) return true;
  encoding.maxBitrate = plan.maxBitrate;
  encoding.scaleResolutionDownBy = scale;
  params.degradationPreference = screen ? 'maintain-resolution' : 'balanced';
  try {
    await sender.setParameters(params);
  } catch {
    // Browsers without degradationPreference in setParameters: the caps alone.
    delete params.degradationPreference;
    await sender.setParameters(params);
  }
  return true;
}

/**
 * @typedef {object} MeshBandwidthHooks
 * @property {() => RTCPeerConnection[]} connections one per remote member receiving our media
 * @property {(plan: SenderPlan) => void} [changed] the plan changed (emitted as a Call event)
 */

/** Keeps every video sender of the call within the plan; read as `call.bandwidth`. */
export class MeshBandwidth {
  #hooks;
  /** @type {SenderPlan | null} */
  #plan = null;
  /** @type {number | null} the congested uplink's measured total (null: not congested) */
  #uplinkBps = null;
  #calm = 0;
  /** When membership last changed: estimates of new connections are still ramping up. */
  #changedAt = Date.now();
  #timer;
  /** @type {Promise<void>} rebalances run one at a time (setParameters must not interleave) */
  #queue = Promise.resolve();

  /** @param {MeshBandwidthHooks} hooks */
  constructor(hooks) {
    this.#hooks = hooks;
    this.#timer = setInterval(() => void this.#measureAndRebalance(), REBALANCE_MS);
  }

  /** @returns {SenderPlan | null} the plan last applied */
  get plan() {
    return this.#plan;
  }

  /** Membership changed: new tier now, measurements after the new connections warmed up. */
  membershipChanged() {
    this.#changedAt = Date.now();
    this.#uplinkBps = null;
    return this.rebalance();
  }

  /** Re-apply the plan now (e.g. a connection (re)connected). @returns {Promise<void>} */
  rebalance() {
    this.#queue = this.#queue.then(() => this.#apply()).catch(() => {});
    return this.#queue;
  }

  stop() {
    clearInterval(this.#timer);
  }

  async #measureAndRebalance() {
    const connections = this.#live();
    // One connection (1:1): libwebrtc's own estimate is exactly right, nothing to share.
    if (connections.length < 2 || Date.now() - this.#changedAt < WARMUP_MS) return;
    const cap = this.#plan?.maxBitrate ?? Infinity;
    let sum = 0;
    let congested = false;
    for (const pc of connections) {
      let estimate = 0;
      let limited = false;
      try {
        (await pc.getStats()).forEach((/** @type {any} */ s) => {
          if (s.type === 'candidate-pair' && s.nominated && s.state === 'succeeded') estimate = s.availableOutgoingBitrate ?? 0;
          if (s.type === 'outbound-rtp' && s.kind === 'video' && s.qualityLimitationReason === 'bandwidth') limited = true;
        });
      } catch {
        continue; // closed meanwhile
      }
      sum += estimate;
      // Congestion: the estimate is below our cap *and* the encoder says bandwidth limits it.
      // An estimate alone is no proof: an application-limited sender's estimate stays low.
      if (limited && estimate > 0 && estimate < cap * 0.8) congested = true;
    }
    if (congested) {
      this.#uplinkBps = sum;
      this.#calm = 0;
    } else if (this.#uplinkBps !== null && ++this.#calm >= CALM_ROUNDS) {
      this.#uplinkBps = null;
    }
    await this.rebalance();
  }

  async #apply() {
    const connections = this.#live();
    if (connections.length === 0) return;
    const plan = planSenders(connections.length, this.#uplinkBps);
    const senders = connections.flatMap((pc) => pc.getSenders().filter((s) => s.track?.kind === 'video'));
    await Promise.all(senders.map((sender) => applyPlan(sender, plan).catch(() => false)));
    const old = this.#plan;
    this.#plan = plan;
    if (!old || old.maxBitrate !== plan.maxBitrate || old.remotes !== plan.remotes
      || old.scaleResolutionDownBy !== plan.scaleResolutionDownBy) this.#hooks.changed?.(plan);
  }

  #live() {
    return this.#hooks.connections().filter((pc) => pc.connectionState !== 'closed' && pc.signalingState !== 'closed');
  }
}
