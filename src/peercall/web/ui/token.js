/**
 * Reading the call link: `/call#token=<JWT>[&autojoin=1]`.
 *
 * The token travels in the URL fragment so it never reaches server logs. Its payload is
 * decoded here only to greet the user by name; the server alone verifies it.
 */

/**
 * @typedef {object} LinkParams
 * @property {string} token
 * @property {boolean} autojoin
 */

/**
 * @typedef {object} TokenClaims
 * @property {string} name display name
 * @property {string} identity `sub`
 * @property {string} role `host` or `participant`
 * @property {string} room room id
 * @property {number | undefined} exp expiry, seconds since the epoch
 */

/**
 * @param {string} hash `location.hash`
 * @returns {LinkParams}
 */
export function readLinkParams(hash) {
  const params = new URLSearchParams(hash.replace(/^#/, ''));
  return { token: (params.get('token') ?? '').trim(), autojoin: params.get('autojoin') === '1' };
}

/**
 * Decode (not verify) a JWT payload.
 * @param {string} token
 * @returns {TokenClaims | null} null when the token is not a well-formed JWT
 */
export function decodeTokenClaims(token) {
  const parts = token.split('.');
  if (parts.length !== 3) return null;
  try {
    const b64 = parts[1].replace(/-/g, '+').replace(/_/g, '/');
    const bytes = Uint8Array.from(atob(b64 + '='.repeat((4 - (b64.length % 4)) % 4)), (c) => c.charCodeAt(0));
    const payload = JSON.parse(new TextDecoder().decode(bytes));
    if (!payload || typeof payload !== 'object') return null;
    return {
      name: typeof payload.name === 'string' ? payload.name : '',
      identity: typeof payload.sub === 'string' ? payload.sub : '',
      role: typeof payload.role === 'string' ? payload.role : '',
      room: typeof payload.room === 'string' ? payload.room : '',
      exp: typeof payload.exp === 'number' ? payload.exp : undefined,
    };
  } catch {
    return null;
  }
}
