/**
 * The collaboration panels of the call page (chat; files and whiteboard register here too),
 * built only on the SDK. app.js calls {@link setupCollab} once the call is joined.
 */

import { setupChatPanel } from './chat-panel.js';
import { el } from './dom.js';
import { setupFilesPanel } from './files-panel.js';
import { setupWhiteboard } from './whiteboard-panel.js';

/**
 * @param {import('/sdk/peercall.js').Call} call
 * @param {Document} doc
 */
export function setupCollab(call, doc) {
  const screen = /** @type {HTMLElement} */ (doc.querySelector('[data-testid=call-screen]'));
  const controls = /** @type {HTMLElement} */ (screen.querySelector('.pc-controls'));
  const host = el('div', { class: 'pc-collab', 'data-testid': 'collab' });
  screen.insertBefore(host, controls);
  const nameOf = (/** @type {string} */ identity) => {
    for (const peer of call.peers.values()) if (peer.identity === identity) return peer.name || identity;
    return identity;
  };
  setupChatPanel(call, controls, host, nameOf);
  setupFilesPanel(call, controls, host, screen);
  setupWhiteboard(call, controls, /** @type {HTMLElement} */ (screen.querySelector('.pc-stage')));
}
