/**
 * Media recovery for one {@link PeerLink}: notice a broken media path quickly and climb a
 * failover ladder until media flows again.
 *
 * Triggers: `connectionState` `failed` (at once) or a `disconnected` that lasts, the
 * browser going `online` again / a network change (reported by the Call), and inbound
 * media that stops while ICE still claims `connected` (bytes received stall).
 *
 * Exactly one side drives a recovery: the *impolite* side. The polite side steps in
 * only when the impolite side stayed silent for `politeGraceMs` (e.g. only our network
 * changed and the other side never noticed). Perfect negotiation absorbs the rare glare.
 *
 * Ladder (each rung tried `attemptsPerStep` times, waits from the injectable policy):
 *   1. `ice_restart`    — new ICE credentials on the same connection;
 *   2. `relay_restart`  — ICE restart limited to TURN relays, TURN/TLS on 443 first
 *                         (skipped when no TURN server is configured);
 *   3. `new_connection` — a fresh RTCPeerConnection, fully renegotiated.
 * When media flows again the episode is reported (`recovered`, steps, duration).
 * An episode caused by our own network (change, offline) whose inbound media had already
 * been stopped for `renewAfterStallMs` when its first attempt becomes possible starts at rung 3:
 * the old connection's receive state is worth less than a fresh start.
 *
 * @module media-recovery
 */

/**
 * @typedef {'ice_disconnected' | 'ice_failed' | 'network_change' | 'offline' | 'no_inbound_media' | 'manual'} RecoveryCause
 * @typedef {'ice_restart' | 'relay_restart' | 'new_connection'} RecoveryStep
 * @typedef {{step: RecoveryStep, ok: boolean, ms: number}} StepResult
 */

/**
 * @typedef {object} RecoveryContext
 * @property {number} attempt 1-based attempt number within the episode
 * @property {number} elapsedMs since the episode started
 * @property {RecoveryCause} cause
 */

/**
 * @typedef {object} MediaRecoveryPolicy
 * @property {(ctx: RecoveryContext) => number} nextRetryDelayMs wait before the next attempt
 * @property {number} disconnectedGraceMs how long `disconnected` may last before we act
 * @property {number} politeGraceMs how long the polite side leaves the lead to the other side
 * @property {number} attemptsPerStep attempts on a rung before climbing to the next
 * @property {number} stallMs inbound bytes frozen this long while "connected" = broken
 * @property {number} renewAfterStallMs inbound media stopped at least this long before the
 *   first attempt of an episode: start at `new_connection` (see below)
 * @property {number} giveUpMs end the episode as `failed` after this long (the Call decides what next)
 * @property {number} [holdSendingAfterMs] nothing at all received (media, RTCP, ICE checks) for
 *   this long while media was expected: stop sending until the path carries packets again
 *   (see below; Infinity: never)
 */

const RETRY_MS = [400, 800, 1_500, 2_500, 4_000];
/** Inbound-bytes sampling interval (stall detection, end of an episode)… */
const SAMPLE_MS = 500;
/** …and while media is stalled or an episode runs: notice the first packets back at once. */
const FAST_SAMPLE_MS = 100;
/** Inbound video resuming after a gap this long asks for a key frame (`keyFrameNeeded`)… */
const RESUME_GAP_MS = 1_000;
/** …and so does video arriving with no frame decoded for this long (at most once per period). */
const UNDECODABLE_MS = 1_000;
/** Re-check interval while an attempt cannot reach the other side. */
const WAIT_MS = 250;

/** Frequent early retries (the network often returns within seconds), then every ~4 s. */
export const DEFAULT_MEDIA_RECOVERY = Object.freeze(/** @type {MediaRecoveryPolicy} */ ({
  nextRetryDelayMs: ({ attempt }) => Math.round(RETRY_MS[Math.min(attempt - 1, RETRY_MS.length - 1)] * (0.8 + 0.4 * Math.random())),
  disconnectedGraceMs: 2_000,
  politeGraceMs: 3_000,
  attemptsPerStep: 3,
  stallMs: 3_000,
  // Off (Infinity). Measured in Chromium 156 (bench/reconnect.py --trace, 5 s link cut):
  // a fresh connection after a network change waits ~1.5 s for ICE (Chromium refreshes
  // its network list with a delay before it gathers), while the old connection usually
  // carries packets again within 0.1–0.3 s; with a key frame requested as soon as they
  // flow (keyframe-guard), the old path shows video in ~0.9 s against ~1.6 s for a fresh
  // connection. The fresh-connection path itself is safe (offers buffered for a replaced
  // connection are ignored, simultaneous renewals tie-break): set e.g. 2_500 to use it.
  renewAfterStallMs: Infinity,
  // Measured (bench/reconnect.py --trace, 5 s link cut): a sender whose path is dead queues
  // its media, and when the path returns the backlog arrives at once: the receiving
  // browser's audio buffer jumped to ~1.5 s and took ~15 s to drain, and its video timing
  // (extrapolated from those late frames) held new frames 0.3–0.9 s. Not sending while
  // nothing arrives leaves no backlog; re-enabling a video encoding starts with a key frame.
  holdSendingAfterMs: 1_500,
  giveUpMs: 120_000,
}));

/**
 * @typedef {object} RecoveryHooks
 * @property {(step: RecoveryStep) => boolean} attempt run one rung; false when the rung is not available
 * @property {(info: {cause: RecoveryCause, step: RecoveryStep, attempt: number}) => void} onStep
 * @property {(report: {cause: RecoveryCause, durationMs: number, outcome: 'recovered' | 'failed', steps: StepResult[]}) => void} onDone
 * @property {() => boolean} [expectsInbound] false when the other side announced it sends nothing
 * @property {() => boolean} [expectsVideo] true when the other side announced it sends video
 * @property {() => boolean} [canAttempt] false while an attempt cannot reach the other side
 * @property {() => boolean} [answered] false while our last offer is still unanswered
 * @property {(why: 'resumed' | 'undecodable') => void} [keyFrameNeeded] inbound video flows again
 *   after a gap, or flows without a frame decoded for a second: ask the sender for a key frame
 * @property {(held: boolean) => void} [holdSending] stop (true) or resume (false) sending our media
 */

const LADDER = /** @type {RecoveryStep[]} */ (['ice_restart', 'relay_restart', 'new_connection']);

/**
 * Watch one link. Returns a controller: `nudge(cause)` starts (or speeds up) a recovery,
 * `stop()` ends the watch.
 * @param {import('./peer-link.js').PeerLink} link
 * @param {RecoveryHooks} hooks
 * @param {MediaRecoveryPolicy} [policy]
 */
export function watchMediaRecovery(link, hooks, policy = DEFAULT_MEDIA_RECOVERY) {
  /** @type {{cause: RecoveryCause, startedAt: number, attempt: number, rung: number, onRung: number, steps: StepResult[], stepAt: number, maxStallMs: number} | null} */
  let episode = null;
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  let timer;
  let lastBytes = -1;
  let lastBytesAt = Date.now();
  /** Last time inbound media was seen flowing (or nothing was expected): stall lengths. */
  let flowingAt = Date.now();

  const schedule = (/** @type {number} */ ms) => {
    clearTimeout(timer);
    timer = setTimeout(tick, ms);
  };

  const begin = (/** @type {RecoveryCause} */ cause, /** @type {number} */ delayMs) => {
    if (!episode) episode = { cause, startedAt: Date.now(), attempt: 0, rung: 0, onRung: 0, steps: [], stepAt: 0, maxStallMs: 0 };
    schedule(link.polite && cause !== 'network_change' ? Math.max(delayMs, policy.politeGraceMs) : delayMs);
  };

  function tick() {
    if (!episode) return;
    const now = Date.now();
    if (now - episode.startedAt > policy.giveUpMs) return finish('failed');
    // Offline, our signaling down, or the other side known to be away: an attempt could
    // not even reach them. Wait (cheaply) instead of climbing the ladder in the dark.
    if (!(hooks.canAttempt?.() ?? true)) {
      schedule(WAIT_MS);
      return;
    }
    const answered = hooks.answered?.() ?? true;
    // Normally an episode ends when inbound media flows again (see the byte sampler);
    // when the other side sends nothing, a completed renegotiation has to do.
    if (episode.attempt > 0 && answered && link.connectionState === 'connected' && !(hooks.expectsInbound?.() ?? true)) {
      return finish('recovered');
    }
    if (episode.attempt > 0) {
      episode.steps.push({ step: LADDER[episode.rung], ok: false, ms: now - episode.stepAt });
      // Climb only after a *completed* negotiation left media broken; an unanswered
      // offer means the other side has not heard us yet (it gets it when it is back).
      if (answered && ++episode.onRung >= policy.attemptsPerStep && episode.rung < LADDER.length - 1) {
        episode.rung += 1;
        episode.onRung = 0;
      }
    }
    // A long outage: begin with a fresh connection (see renewAfterStallMs).
    // Only when *our* network dropped (we know it is back now); a stall we merely observe
    // may be the other side still being away.
    if (episode.attempt === 0 && (episode.cause === 'network_change' || episode.cause === 'offline')
      && Math.max(episode.maxStallMs, now - flowingAt) >= policy.renewAfterStallMs
      && (hooks.expectsInbound?.() ?? true)) {
      episode.rung = LADDER.length - 1;
    }
    // Skip rungs that are not available (no TURN server for relay_restart).
    while (!hooks.attempt(LADDER[episode.rung]) && episode.rung < LADDER.length - 1) episode.rung += 1;
    episode.attempt += 1;
    episode.stepAt = now;
    hooks.onStep({ cause: episode.cause, step: LADDER[episode.rung], attempt: episode.attempt });
    schedule(policy.nextRetryDelayMs({ attempt: episode.attempt, elapsedMs: now - episode.startedAt, cause: episode.cause }));
  }

  const finish = (/** @type {'recovered' | 'failed'} */ outcome) => {
    clearTimeout(timer);
    timer = undefined;
    if (!episode) return;
    const done = episode;
    episode = null;
    if (outcome === 'recovered' && done.attempt > 0) done.steps.push({ step: LADDER[done.rung], ok: true, ms: Date.now() - done.stepAt });
    hooks.onDone({ cause: done.cause, durationMs: Date.now() - done.startedAt, outcome, steps: done.steps });
  };

  const offState = link.on('connectionstate', (state) => {
    if (state === 'connected') {
      lastBytesAt = Date.now();
      if (episode) finish('recovered');
    } else if (state === 'failed') {
      begin('ice_failed', 0);
    } else if (state === 'disconnected') {
      begin('ice_disconnected', policy.disconnectedGraceMs);
    }
  });

  // Inbound media stall: ICE can say "connected" while nothing arrives (one-way breaks).
  // (Only when the other side says it sends something: a peer with no mic and the camera
  // off sends no packets at all.)
  let sampledAt = 0;
  let sampling = false;
  let decoded = -1;
  let decodedAt = Date.now();
  let keyFrameAskedAt = 0;
  let activity = -1;
  let activityAt = Date.now();
  let held = false;
  const hold = (/** @type {boolean} */ on) => {
    if (held === on) return;
    held = on;
    hooks.holdSending?.(on);
  };
  const stallTimer = setInterval(async () => {
    // "disconnected" too: packets often flow again before ICE says "connected" (key frame asap);
    // and any state while our sending is held (only packets arriving end the hold).
    if (link.connectionState !== 'connected' && link.connectionState !== 'disconnected' && !held) return;
    const stalled = episode !== null || Date.now() - flowingAt >= SAMPLE_MS * 2;
    if (!stalled && Date.now() - sampledAt < SAMPLE_MS - FAST_SAMPLE_MS / 2) return;
    if (sampling) return; // getStats slower than the tick: never pile up calls
    sampledAt = Date.now();
    sampling = true;
    let bytes = 0;
    let frames = 0;
    let arrived = 0; // anything at all: media, RTCP, ICE checks and their answers
    const videoOnly = hooks.expectsVideo?.() ?? false;
    try {
      // Video counts on its own when the other side sends video: audio alone flowing
      // must not hide a video path that stopped (seen after an address change).
      (await link.getStats()).forEach((s) => {
        if (s.type === 'inbound-rtp' && (!videoOnly || s.kind === 'video')) bytes += s.bytesReceived ?? 0;
        if (s.type === 'inbound-rtp' && s.kind === 'video') frames += s.framesDecoded ?? 0;
        if (s.type === 'transport') arrived += s.packetsReceived ?? s.bytesReceived ?? 0;
        if (s.type === 'candidate-pair') arrived += (s.requestsReceived ?? 0) + (s.responsesReceived ?? 0);
      });
    } catch {
      return;
    } finally {
      sampling = false;
    }
    const now = Date.now();
    const grew = bytes !== lastBytes && bytes > 0;
    if (arrived > activity) {
      activity = arrived;
      activityAt = now;
      hold(false);
    } else if (arrived < activity) {
      activity = arrived; // candidate pairs were pruned (ICE restart): a new baseline, nothing arrived
    } else if (!held && now - activityAt >= (policy.holdSendingAfterMs ?? Infinity)
      && now - flowingAt >= (policy.holdSendingAfterMs ?? Infinity) && (hooks.expectsInbound?.() ?? true)) {
      hold(true);
    }
    if (frames !== decoded) {
      decoded = frames;
      decodedAt = now;
    } else if (videoOnly && grew && now - decodedAt >= UNDECODABLE_MS && now - keyFrameAskedAt >= UNDECODABLE_MS) {
      // Packets arrive but nothing decodes (seen after an address change: references lost).
      keyFrameAskedAt = now;
      hooks.keyFrameNeeded?.('undecodable');
    }
    if (grew || bytes === 0 || !(hooks.expectsInbound?.() ?? true)) {
      if (episode) episode.maxStallMs = Math.max(episode.maxStallMs, now - flowingAt);
      // Packets are back after an outage: the decoder needs a key frame (see keyframe-guard).
      if (grew && lastBytes > 0 && now - flowingAt >= RESUME_GAP_MS) {
        keyFrameAskedAt = now;
        hooks.keyFrameNeeded?.('resumed');
      }
      flowingAt = now;
      lastBytes = bytes;
      lastBytesAt = now;
      // An episode ends when media flows again after an attempt went through (ICE may
      // say "connected" on a path that died with the old network).
      if (grew && episode && (episode.cause === 'no_inbound_media' || (episode.attempt > 0 && (hooks.answered?.() ?? true)))) {
        finish('recovered');
      }
    } else if (!episode && link.connectionState === 'connected' && now - lastBytesAt > policy.stallMs) {
      lastBytesAt = now;
      begin('no_inbound_media', 0);
    }
  }, FAST_SAMPLE_MS);

  return {
    /**
     * Something outside the link suggests the path broke (network change, back online):
     * act now rather than wait for ICE timers.
     * @param {RecoveryCause} cause
     */
    nudge(cause) {
      if (episode) {
        schedule(0);
      } else if (link.connectionState !== 'connected' || cause === 'network_change' || cause === 'manual') {
        begin(cause, 0);
      }
    },
    /** True while a recovery episode is running. */
    get active() {
      return episode !== null;
    },
    stop() {
      clearTimeout(timer);
      clearInterval(stallTimer);
      hold(false);
      offState();
      episode = null;
    },
  };
}
