/**
 * Network signals from the browser: back `online`, gone `offline`, and a change of
 * network (Network Information API, where available: Wi-Fi → cellular). The Call uses
 * them to act at once instead of waiting for ICE or socket timers.
 *
 * @module network
 */

/**
 * @param {{online: () => void, offline: () => void, change: () => void}} handlers
 * @returns {() => void} stop listening
 */
export function watchNetwork({ online, offline, change }) {
  if (typeof window === 'undefined') return () => {};
  /** @type {EventTarget | undefined} */
  const connection = /** @type {any} */ (navigator).connection;
  window.addEventListener('online', online);
  window.addEventListener('offline', offline);
  connection?.addEventListener?.('change', change);
  return () => {
    window.removeEventListener('online', online);
    window.removeEventListener('offline', offline);
    connection?.removeEventListener?.('change', change);
  };
}
