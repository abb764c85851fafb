/**
 * getStats sampler: turns two consecutive RTCStatsReports of one peer connection into one
 * compact, per-direction {@link StatsSample} (rates are deltas over the interval, so a
 * sample describes the last second, not the call's lifetime).
 *
 * The sample is what the quality model (quality.js) reads, what the stats panel graphs and,
 * trimmed by the server's schema, what is sent to the other side every ~2 s (`stats` frame).
 *
 * @module stats
 */

/**
 * @typedef {object} CandidatePair
 * @property {string | null} local `host` | `srflx` | `prflx` | `relay`
 * @property {string | null} remote
 * @property {string | null} protocol `udp` | `tcp` (between us and the first hop)
 * @property {string | null} relay_protocol `udp` | `tcp` | `tls` when we use a TURN relay
 */

/**
 * One interval's figures (snake_case: the same fields travel to the server and Python).
 * Null means "not measured in this interval" (e.g. no video in that direction).
 * @typedef {object} StatsSample
 * @property {number} t epoch ms of the newer report
 * @property {number} interval_s
 * @property {number | null} rtt_ms round trip time (selected candidate pair, else RTCP)
 * @property {number | null} jitter_ms inbound audio jitter
 * @property {number | null} jitter_out_ms jitter the other side measures on our audio
 * @property {number | null} loss_in fraction of inbound packets lost in the interval (worst kind)
 * @property {number | null} loss_out fraction of our packets the other side reports lost (worst kind)
 * @property {number} packets_in packets received in the interval (0: nothing arrives)
 * @property {number} kbps_in
 * @property {number} kbps_out
 * @property {number | null} avail_out_kbps the sender's bandwidth estimate
 * @property {number | null} fps_in frames decoded per second (null: no inbound video)
 * @property {number | null} fps_out frames sent per second (null: no outbound video)
 * @property {number | null} width_in
 * @property {number | null} height_in
 * @property {number | null} width_out
 * @property {number | null} height_out
 * @property {number | null} freeze_in fraction of the interval the inbound video was frozen
 * @property {string | null} limitation outbound video `qualityLimitationReason`
 * @property {CandidatePair | null} pair
 */

/** @param {unknown} v @returns {number} */
const n = (v) => (typeof v === 'number' && Number.isFinite(v) ? v : 0);
/** @param {number} v @param {number} digits */
const round = (v, digits = 1) => Math.round(v * 10 ** digits) / 10 ** digits;

/**
 * Index a report: rtp streams by `type:kind`, plus the selected pair and its candidates.
 * @param {RTCStatsReport} report
 */
function index(report) {
  /** @type {Map<string, any>} */
  const byKey = new Map();
  /** @type {any} */
  let pair = null;
  /** @type {any} */
  let transport = null;
  report.forEach((/** @type {any} */ s) => {
    if (s.type === 'inbound-rtp' || s.type === 'outbound-rtp' || s.type === 'remote-inbound-rtp') {
      const key = `${s.type}:${s.kind}`;
      // Several streams of a kind (e.g. simulcast): keep the one carrying the most bytes.
      const bytes = n(s.bytesReceived) + n(s.bytesSent) + n(s.packetsLost);
      const old = byKey.get(key);
      if (!old || bytes >= n(old.bytesReceived) + n(old.bytesSent) + n(old.packetsLost)) byKey.set(key, s);
    } else if (s.type === 'transport' && s.selectedCandidatePairId) transport = s;
  });
  if (transport) pair = report.get(transport.selectedCandidatePairId) ?? null;
  if (!pair) report.forEach((/** @type {any} */ s) => { if (s.type === 'candidate-pair' && s.selected) pair = s; });
  return { byKey, pair, local: pair && report.get(pair.localCandidateId), remote: pair && report.get(pair.remoteCandidateId) };
}

/**
 * One sample from two reports of the same connection (`prev` may be null: first sample).
 * @param {RTCStatsReport | null} prevReport
 * @param {RTCStatsReport} report
 * @param {number} now epoch ms
 * @param {number} prevAt epoch ms of prevReport
 * @returns {StatsSample}
 */
export function sampleFrom(prevReport, report, now, prevAt) {
  const cur = index(report);
  const old = prevReport ? index(prevReport) : { byKey: new Map(), pair: null };
  const dt = Math.max((now - prevAt) / 1000, 0.001);
  /** @param {string} key @param {string} field */
  const delta = (key, field) => Math.max(n(cur.byKey.get(key)?.[field]) - n(old.byKey.get(key)?.[field]), 0);

  let packetsIn = 0;
  let lossIn = null;
  for (const kind of ['audio', 'video']) {
    const key = `inbound-rtp:${kind}`;
    if (!cur.byKey.has(key)) continue;
    const received = delta(key, 'packetsReceived');
    const lost = delta(key, 'packetsLost');
    packetsIn += received;
    if (received + lost > 0) lossIn = Math.max(lossIn ?? 0, lost / (received + lost));
  }
  let lossOut = null;
  let rttRtcp = null;
  for (const kind of ['audio', 'video']) {
    const remote = cur.byKey.get(`remote-inbound-rtp:${kind}`);
    if (!remote) continue;
    if (typeof remote.fractionLost === 'number') lossOut = Math.max(lossOut ?? 0, remote.fractionLost);
    if (typeof remote.roundTripTime === 'number') rttRtcp = Math.max(rttRtcp ?? 0, remote.roundTripTime);
  }
  const pairRtt = cur.pair && typeof cur.pair.currentRoundTripTime === 'number' ? cur.pair.currentRoundTripTime : null;
  const rtt = pairRtt ?? rttRtcp;
  const audioIn = cur.byKey.get('inbound-rtp:audio');
  const videoIn = cur.byKey.get('inbound-rtp:video');
  const videoOut = cur.byKey.get('outbound-rtp:video');
  const videoInFlowing = videoIn && delta('inbound-rtp:video', 'bytesReceived') > 0;
  const videoOutFlowing = videoOut && delta('outbound-rtp:video', 'bytesSent') > 0;
  const bytesIn = delta('inbound-rtp:audio', 'bytesReceived') + delta('inbound-rtp:video', 'bytesReceived');
  const bytesOut = delta('outbound-rtp:audio', 'bytesSent') + delta('outbound-rtp:video', 'bytesSent');
  const avail = cur.pair && typeof cur.pair.availableOutgoingBitrate === 'number' ? cur.pair.availableOutgoingBitrate : null;
  const remoteAudio = cur.byKey.get('remote-inbound-rtp:audio');
  return {
    t: now,
    interval_s: round(dt, 3),
    rtt_ms: rtt === null ? null : round(rtt * 1000),
    jitter_ms: audioIn && typeof audioIn.jitter === 'number' ? round(audioIn.jitter * 1000) : null,
    jitter_out_ms: remoteAudio && typeof remoteAudio.jitter === 'number' ? round(remoteAudio.jitter * 1000) : null,
    loss_in: lossIn === null ? null : round(lossIn, 4),
    loss_out: lossOut === null ? null : round(lossOut, 4),
    packets_in: packetsIn,
    kbps_in: round((bytesIn * 8) / 1000 / dt),
    kbps_out: round((bytesOut * 8) / 1000 / dt),
    avail_out_kbps: avail === null ? null : round(avail / 1000),
    fps_in: videoInFlowing ? round(delta('inbound-rtp:video', 'framesDecoded') / dt) : null,
    fps_out: videoOutFlowing ? round(delta('outbound-rtp:video', 'framesSent') / dt) : null,
    width_in: videoInFlowing ? n(videoIn.frameWidth) || null : null,
    height_in: videoInFlowing ? n(videoIn.frameHeight) || null : null,
    width_out: videoOutFlowing ? n(videoOut.frameWidth) || null : null,
    height_out: videoOutFlowing ? n(videoOut.frameHeight) || null : null,
    freeze_in: videoInFlowing ? round(Math.min(delta('inbound-rtp:video', 'totalFreezesDuration') / dt, 1), 3) : null,
    limitation: videoOutFlowing ? (videoOut.qualityLimitationReason ?? null) : null,
    pair: cur.pair ? {
      local: cur.local?.candidateType ?? null,
      remote: cur.remote?.candidateType ?? null,
      protocol: cur.local?.protocol ?? null,
      relay_protocol: cur.local?.relayProtocol ?? null,
    } : null,
  };
}

/**
 * Samples one connection every `intervalMs`; calls `onSample` with each new sample.
 * @param {() => Promise<{report: RTCStatsReport, fresh: boolean} | null>} getStats `fresh`: a new
 *   connection (replaced by recovery): its counters start over, so no delta with the old one
 * @param {(sample: StatsSample) => void} onSample
 * @param {number} [intervalMs]
 * @returns {{stop: () => void}}
 */
export function startSampler(getStats, onSample, intervalMs = 1000) {
  /** @type {RTCStatsReport | null} */
  let prev = null;
  let prevAt = 0;
  let busy = false;
  let stopped = false;
  const tick = async () => {
    if (busy || stopped) return;
    busy = true;
    try {
      const got = await getStats();
      const now = Date.now();
      if (got && !stopped) {
        const { report, fresh } = got;
        if (prev && !fresh) onSample(sampleFrom(prev, report, now, prevAt));
        prev = report;
        prevAt = now;
      }
    } catch {
      prev = null; // a closed or replaced connection: start over with the next one
    } finally {
      busy = false;
    }
  };
  const timer = setInterval(tick, intervalMs);
  void tick();
  return { stop: () => { stopped = true; clearInterval(timer); } };
}
