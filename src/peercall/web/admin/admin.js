/**
 * The admin console at `/admin`: API-key login, then tabs over the REST API (live calls,
 * call history with stats charts, recordings, snapshots, webhook deliveries). No framework:
 * each tab is a function that renders its panel from fresh REST data.
 */

import { ApiError, api, session } from './api.js';
import { renderHistory } from './history.js';
import { renderLive } from './live.js';
import { renderRecordings, renderSnapshots } from './media.js';
import { loadDeliveries, renderWebhooks } from './webhooks.js';

const LIVE_REFRESH_MS = 5_000;

const $ = (/** @type {string} */ id) => /** @type {HTMLElement} */ (document.querySelector(`[data-testid="${id}"]`));
const loginForm = /** @type {HTMLFormElement} */ ($('login'));
const consoleEl = $('console');
const errorEl = $('error');

/** @type {Record<string, (panel: HTMLElement) => Promise<void>>} */
const TABS = {
  live: renderLive,
  history: renderHistory,
  recordings: renderRecordings,
  snapshots: renderSnapshots,
  webhooks: async (panel) => {
    const deliveries = await loadDeliveries();
    if (deliveries === null) $('tab-webhooks').hidden = true;
    else renderWebhooks(panel, deliveries);
  },
};

let current = 'live';
/** @type {ReturnType<typeof setInterval> | undefined} */
let timer;

/** @param {unknown} err */
function showError(err) {
  if (err instanceof ApiError && err.status === 401) {
    logout('The API key was refused.');
    return;
  }
  errorEl.textContent = err instanceof Error ? err.message : String(err);
  errorEl.hidden = false;
}

async function render() {
  errorEl.hidden = true;
  const panel = /** @type {HTMLElement} */ (document.querySelector(`[data-panel="${current}"]`));
  panel.setAttribute('aria-busy', 'true');
  try {
    await TABS[current](panel);
    panel.dataset.loaded = String(Date.now());
  } catch (err) {
    showError(err);
  } finally {
    panel.removeAttribute('aria-busy');
  }
}

/** @param {string} tab */
function select(tab) {
  current = tab;
  for (const button of document.querySelectorAll('[data-tab]')) {
    button.setAttribute('aria-selected', String(/** @type {HTMLElement} */ (button).dataset.tab === tab));
  }
  for (const panel of document.querySelectorAll('[data-panel]')) {
    /** @type {HTMLElement} */ (panel).hidden = /** @type {HTMLElement} */ (panel).dataset.panel !== tab;
  }
  clearInterval(timer);
  if (tab === 'live') timer = setInterval(() => { if (!document.hidden) void render(); }, LIVE_REFRESH_MS);
  void render();
}

async function start() {
  await api('/api/rooms'); // checks the key (401 → back to the login)
  loginForm.hidden = true;
  consoleEl.hidden = false;
  $('tab-webhooks').hidden = (await loadDeliveries().catch(() => null)) === null;
  select(current);
}

/** @param {string} [message] */
function logout(message = '') {
  clearInterval(timer);
  session.logout();
  consoleEl.hidden = true;
  loginForm.hidden = false;
  const loginError = $('login-error');
  loginError.textContent = message;
  loginError.hidden = !message;
}

loginForm.addEventListener('submit', (event) => {
  event.preventDefault();
  session.login(String(new FormData(loginForm).get('key') ?? '').trim());
  start().catch(showError);
});
for (const button of document.querySelectorAll('[data-tab]')) {
  button.addEventListener('click', () => select(/** @type {HTMLElement} */ (button).dataset.tab ?? 'live'));
}
$('refresh').addEventListener('click', () => void render());
$('logout').addEventListener('click', () => logout());

if (session.key) start().catch(showError);
else logout();
