/**
 * Automatic ICE restart for one {@link PeerLink}.
 *
 * - `failed`: restart at once on the impolite side, after a short delay on the polite side
 *   (usually only one side then needs to offer; if both do, perfect negotiation resolves it).
 * - `disconnected` that lasts: restart too. Brief `disconnected` blips heal by themselves,
 *   but after a network change (Wi-Fi → cellular) the old path never comes back.
 * - While the link stays failed/disconnected, retry with a growing interval (capped).
 *   `connected` resets everything.
 *
 * @module ice-recovery
 */

/**
 * @typedef {object} IceRecoveryPolicy
 * @property {[number, number]} failedDelayMs delay before restarting on `failed` [impolite, polite]
 * @property {[number, number]} disconnectedDelayMs delay before restarting on a lasting
 *   `disconnected` [impolite, polite]
 * @property {number} retryMs first retry interval while still not connected
 * @property {number} maxRetryMs retry interval cap
 */

export const DEFAULT_ICE_RECOVERY = Object.freeze(/** @type {IceRecoveryPolicy} */ ({
  failedDelayMs: [0, 2_000],
  disconnectedDelayMs: [4_000, 7_000],
  retryMs: 8_000,
  maxRetryMs: 30_000,
}));

/**
 * Watch a link and restart ICE when it stays broken.
 * @param {import('./peer-link.js').PeerLink} link
 * @param {IceRecoveryPolicy} [policy]
 * @returns {() => void} stop watching
 */
export function watchIceRecovery(link, policy = DEFAULT_ICE_RECOVERY) {
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  let timer;
  let retryMs = policy.retryMs;
  const side = link.polite ? 1 : 0;

  const restart = () => {
    link.restartIce();
    timer = setTimeout(restart, retryMs); // still broken after this long: try again
    retryMs = Math.min(retryMs * 2, policy.maxRetryMs);
  };

  const off = link.on('connectionstate', (state) => {
    clearTimeout(timer);
    timer = undefined;
    if (state === 'connected') {
      retryMs = policy.retryMs;
    } else if (state === 'failed') {
      timer = setTimeout(restart, policy.failedDelayMs[side]);
    } else if (state === 'disconnected') {
      timer = setTimeout(restart, policy.disconnectedDelayMs[side]);
    }
  });

  return () => {
    clearTimeout(timer);
    off();
  };
}
