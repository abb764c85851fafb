/** Webhooks tab: the delivery log (`GET /api/webhooks/deliveries`); hidden when the server has none (404). */

import { optional } from './api.js';
import { el, empty, table, when } from './format.js';

/** @returns {Promise<any[] | null>} deliveries, or null when the server has no webhooks */
export async function loadDeliveries() {
  const body = await optional('/api/webhooks/deliveries');
  return body ? body.deliveries ?? [] : null;
}

/** @param {HTMLElement} panel @param {any[]} deliveries */
export function renderWebhooks(panel, deliveries) {
  const rows = deliveries.map((d) => [
    when(d.created_at), d.event, d.url, el('span', { 'data-status': d.status }, [d.status]), String(d.attempts),
    d.response_status === null || d.response_status === undefined ? '—' : String(d.response_status),
    when(d.last_attempt_at), d.event_id,
  ]);
  panel.replaceChildren(
    rows.length
      ? table(['Created', 'Event', 'URL', 'Status', 'Attempts', 'HTTP', 'Last attempt', 'Event id'], rows, { 'data-testid': 'deliveries' })
      : empty('No webhook deliveries yet.'),
  );
}
