/**
 * ICE tester: for each STUN/TURN URL, gather candidates and time them; then, for each
 * TURN URL, make a relay-only loopback call (two RTCPeerConnections in this page with
 * `iceTransportPolicy: 'relay'`) carrying a synthetic video track, and prove that frames
 * were decoded and that the selected local candidate is a relay of the expected protocol.
 *
 * Servers come from the form, or from this peercall server (`#token=<join token>`:
 * `GET /api/ice-servers` returns the list and fresh TURN credentials callers get).
 * Add `&autorun=1` to start at once.
 */

const GATHER_TIMEOUT_MS = 10_000;
const CALL_TIMEOUT_MS = 15_000;
const MIN_FRAMES = 10;

/** @param {string} text @returns {string[]} */
export function parseUrls(text) {
  return text.split(/[\s,]+/).map((u) => u.trim()).filter((u) => /^(stun|turns?):/.test(u));
}

/**
 * The relay protocol a TURN URL asks for (the client ↔ TURN server leg), or null for STUN.
 * @param {string} url
 * @returns {'udp' | 'tcp' | 'tls' | null}
 */
export function relayTransport(url) {
  if (url.startsWith('turns:')) return 'tls';
  if (!url.startsWith('turn:')) return null;
  return /[?&]transport=tcp/.test(url) ? 'tcp' : 'udp';
}

const $ = (/** @type {string} */ id) => /** @type {HTMLElement} */ (document.querySelector(`[data-testid="${id}"]`));
const sleep = (/** @type {number} */ ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * @param {HTMLElement} table
 * @param {(string | number | null | undefined)[]} cells
 * @param {Record<string, string>} [data] data-* attributes of the row (for scripts and tests)
 */
function addRow(table, cells, data = {}) {
  const row = document.createElement('tr');
  for (const cell of cells) {
    const td = document.createElement('td');
    td.textContent = cell === null || cell === undefined ? '–' : String(cell);
    row.append(td);
  }
  Object.assign(row.dataset, data);
  /** @type {HTMLElement} */ (table.querySelector('tbody')).append(row);
  return row;
}

/**
 * Gather candidates for one URL.
 * @param {RTCIceServer} server one URL (string) with its credentials
 */
async function gather(server) {
  const url = /** @type {string} */ (server.urls);
  const pc = new RTCPeerConnection({ iceServers: [server] });
  const start = performance.now();
  /** @type {{type: string, protocol: string, relayProtocol: string | null, address: string, ms: number}[]} */
  const candidates = [];
  /** @type {string[]} */
  const errors = [];
  const done = new Promise((resolve) => {
    pc.onicecandidate = ({ candidate }) => {
      if (!candidate) return resolve(undefined);
      if (!candidate.candidate) return;
      const relay = /** @type {any} */ (candidate).relayProtocol;
      candidates.push({
        type: candidate.type ?? '?',
        protocol: candidate.protocol ?? '?',
        relayProtocol: candidate.type === 'relay' ? relay ?? relayTransport(url) : null,
        address: `${candidate.address ?? '?'}:${candidate.port ?? '?'}`,
        ms: Math.round(performance.now() - start),
      });
    };
    pc.onicecandidateerror = (event) => {
      const e = /** @type {RTCPeerConnectionIceErrorEvent} */ (event);
      errors.push(`${e.url || url}: ${e.errorCode} ${e.errorText}`);
    };
  });
  pc.createDataChannel('gather');
  await pc.setLocalDescription(await pc.createOffer());
  await Promise.race([done, sleep(GATHER_TIMEOUT_MS)]);
  pc.close();
  return { url, candidates, errors };
}

/** A moving picture from a canvas: no camera or permission needed. */
function syntheticStream() {
  const canvas = document.createElement('canvas');
  canvas.width = 320;
  canvas.height = 240;
  const ctx = /** @type {CanvasRenderingContext2D} */ (canvas.getContext('2d'));
  let n = 0;
  const timer = setInterval(() => {
    n += 1;
    ctx.fillStyle = `hsl(${(n * 7) % 360} 60% 35%)`;
    ctx.fillRect(0, 0, 320, 240);
    ctx.fillStyle = '#fff';
    ctx.fillRect((n * 6) % 300, 100, 20, 40);
  }, 66);
  const stream = canvas.captureStream(15);
  return { stream, stop: () => { clearInterval(timer); stream.getTracks().forEach((t) => t.stop()); } };
}

/** @param {RTCPeerConnection} pc */
async function inboundAndSelected(pc) {
  const report = await pc.getStats();
  let frames = 0;
  let bytes = 0;
  /** @type {any} */
  let local = null;
  report.forEach((s) => {
    if (s.type === 'inbound-rtp' && s.kind === 'video') {
      frames = s.framesDecoded ?? 0;
      bytes = s.bytesReceived ?? 0;
    }
    if (s.type === 'transport' && s.selectedCandidatePairId) {
      const pair = report.get(s.selectedCandidatePairId);
      local = pair ? report.get(pair.localCandidateId) : null;
    }
  });
  return { frames, bytes, local };
}

/**
 * A relay-only call through one TURN URL, inside this page.
 * @param {RTCIceServer} server
 */
async function relayCall(server) {
  const config = { iceServers: [server], iceTransportPolicy: /** @type {RTCIceTransportPolicy} */ ('relay') };
  const a = new RTCPeerConnection(config);
  const b = new RTCPeerConnection(config);
  const media = syntheticStream();
  const sink = document.createElement('video');
  sink.muted = true;
  sink.autoplay = true;
  const start = performance.now();
  const result = { ok: false, reason: '', connectedMs: /** @type {number | null} */ (null),
    firstFrameMs: /** @type {number | null} */ (null), frames: 0, bytes: 0, local: /** @type {any} */ (null) };
  try {
    a.onicecandidate = ({ candidate }) => { if (candidate) b.addIceCandidate(candidate).catch(() => {}); };
    b.onicecandidate = ({ candidate }) => { if (candidate) a.addIceCandidate(candidate).catch(() => {}); };
    b.ontrack = ({ streams }) => { sink.srcObject = streams[0]; };
    media.stream.getTracks().forEach((track) => a.addTrack(track, media.stream));
    await a.setLocalDescription(await a.createOffer());
    await b.setRemoteDescription(/** @type {RTCSessionDescriptionInit} */ (a.localDescription));
    await b.setLocalDescription(await b.createAnswer());
    await a.setRemoteDescription(/** @type {RTCSessionDescriptionInit} */ (b.localDescription));
    const deadline = start + CALL_TIMEOUT_MS;
    while (performance.now() < deadline) {
      if (b.connectionState === 'failed') throw new Error('ICE failed: no relay path (see candidate errors)');
      if (result.connectedMs === null && b.connectionState === 'connected') {
        result.connectedMs = Math.round(performance.now() - start);
      }
      const stats = await inboundAndSelected(b);
      Object.assign(result, { frames: stats.frames, bytes: stats.bytes, local: stats.local ?? result.local });
      if (stats.frames > 0 && result.firstFrameMs === null) result.firstFrameMs = Math.round(performance.now() - start);
      if (stats.frames >= MIN_FRAMES && result.connectedMs !== null) break;
      await sleep(100);
    }
    if (result.connectedMs === null) throw new Error(`not connected within ${CALL_TIMEOUT_MS / 1000} s`);
    if (result.frames < MIN_FRAMES) throw new Error(`connected, but only ${result.frames} frames decoded`);
    if (result.local?.candidateType !== 'relay') throw new Error(`selected candidate is ${result.local?.candidateType}`);
    result.ok = true;
  } catch (err) {
    result.reason = err instanceof Error ? err.message : String(err);
  } finally {
    media.stop();
    a.close();
    b.close();
  }
  return result;
}

/**
 * The call is pointless when the server gave no relay candidate: say so at once.
 * @param {string[]} errors the URL's candidate errors
 */
function noRelay(errors) {
  const why = errors.length ? errors.join('; ') : 'no answer and no error: unreachable, or a firewall drops it';
  return { ok: false, reason: `no relay candidate: ${why}`, connectedMs: null, firstFrameMs: null,
    frames: 0, bytes: 0, local: null };
}

/** @param {string} username @param {string} credential @returns {RTCIceServer[]} */
function serversFromForm(username, credential) {
  const urls = parseUrls(/** @type {HTMLTextAreaElement} */ ($('urls')).value);
  return urls.map((url) => (url.startsWith('turn') ? { urls: url, username, credential } : { urls: url }));
}

async function run() {
  const form = /** @type {HTMLFormElement} */ ($('servers-form'));
  const data = new FormData(form);
  const servers = serversFromForm(String(data.get('username') ?? ''), String(data.get('credential') ?? ''));
  const button = /** @type {HTMLButtonElement} */ ($('run'));
  const status = $('status');
  if (!servers.length) return showError('Enter at least one stun:, turn: or turns: URL.');
  showError('');
  button.disabled = true;
  for (const id of ['candidates', 'relay-results']) /** @type {HTMLElement} */ ($(id).querySelector('tbody')).replaceChildren();
  $('candidate-errors').replaceChildren();
  status.dataset.state = 'running';
  try {
    status.textContent = 'Gathering candidates…';
    const gathered = await Promise.all(servers.map(gather));
    for (const { url, candidates, errors } of gathered) {
      if (!candidates.length) addRow($('candidates'), [url, 'none', null, null, null, null], { url, type: 'none' });
      for (const c of candidates) {
        addRow($('candidates'), [url, c.type, c.protocol, c.relayProtocol, c.address, c.ms],
          { url, type: c.type, relayProtocol: c.relayProtocol ?? '' });
      }
      for (const error of errors) {
        const li = document.createElement('li');
        li.textContent = error;
        $('candidate-errors').append(li);
      }
    }
    for (const server of servers.filter((s) => relayTransport(String(s.urls)))) {
      const url = String(server.urls);
      status.textContent = `Relay-only call through ${url}…`;
      const found = gathered.find((g) => g.url === url);
      const relays = found?.candidates.filter((c) => c.type === 'relay') ?? [];
      const r = relays.length ? await relayCall(server) : noRelay(found?.errors ?? []);
      const local = r.local ? `${r.local.candidateType} ${r.local.protocol} via ${r.local.relayProtocol ?? '?'}` : null;
      const row = addRow($('relay-results'), [url, r.ok ? 'media flowed' : `failed: ${r.reason}`, r.connectedMs,
        r.firstFrameMs, r.frames, local, r.bytes], {
        testid: 'relay-result', url, transport: relayTransport(url) ?? '', ok: String(r.ok),
        candidateType: r.local?.candidateType ?? '', relayProtocol: r.local?.relayProtocol ?? '', frames: String(r.frames),
      });
      /** @type {HTMLElement} */ (row.children[1]).className = r.ok ? 'it-ok' : 'it-bad';
    }
    status.textContent = 'Done.';
  } catch (err) {
    showError(err instanceof Error ? err.message : String(err));
  } finally {
    status.dataset.state = 'done';
    button.disabled = false;
  }
}

/** @param {string} message */
function showError(message) {
  const box = $('error');
  box.textContent = message;
  box.hidden = !message;
}

/** Fill the form with what this server hands to callers (needs a join token). */
async function loadConfigured(/** @type {string} */ token) {
  const response = await fetch('/api/ice-servers', { headers: { Authorization: `Bearer ${token}` } });
  if (!response.ok) throw new Error(`this server refused the token (${response.status})`);
  const { ice_servers: list } = await response.json();
  /** @type {string[]} */
  const urls = [];
  for (const entry of list) {
    urls.push(...(Array.isArray(entry.urls) ? entry.urls : [entry.urls]));
    if (entry.username) {
      /** @type {HTMLInputElement} */ ($('username')).value = entry.username;
      /** @type {HTMLInputElement} */ ($('credential')).value = entry.credential ?? '';
    }
  }
  /** @type {HTMLTextAreaElement} */ ($('urls')).value = urls.join('\n');
}

function main() {
  $('servers-form').addEventListener('submit', (event) => {
    event.preventDefault();
    run();
  });
  const params = new URLSearchParams(location.hash.replace(/^#/, ''));
  const token = params.get('token');
  if (!token) return;
  const load = $('load-configured');
  load.hidden = false;
  const loading = loadConfigured(token).catch((err) => showError(err.message));
  load.addEventListener('click', () => loadConfigured(token).catch((err) => showError(err.message)));
  if (params.get('autorun') === '1') loading.then(run);
}

main();
