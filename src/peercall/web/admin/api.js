/**
 * The admin console's REST client. The API key lives in sessionStorage (gone when the tab
 * closes, never in a cookie, so no CSRF) and is sent as `Authorization: Bearer`.
 */

const KEY = 'peercall.apiKey';

export class ApiError extends Error {
  /** @param {number} status @param {string} code @param {string} message */
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

export const session = {
  /** @returns {string | null} */
  get key() { return sessionStorage.getItem(KEY); },
  /** @param {string} key */
  login(key) { sessionStorage.setItem(KEY, key); },
  logout() { sessionStorage.removeItem(KEY); },
};

/**
 * @param {string} path e.g. `/api/rooms`
 * @param {{method?: string, as?: 'json' | 'blob'}} [options]
 * @returns {Promise<any>}
 */
export async function api(path, { method = 'GET', as = 'json' } = {}) {
  const response = await fetch(path, { method, headers: { Authorization: `Bearer ${session.key ?? ''}` } });
  if (!response.ok) {
    let code = 'http_error';
    let message = `${response.status} ${response.statusText}`;
    try {
      const body = await response.json();
      code = body?.error?.code ?? body?.code ?? code;
      message = body?.error?.message ?? body?.message ?? body?.detail ?? message;
    } catch {
      // not JSON
    }
    throw new ApiError(response.status, String(code), String(message));
  }
  return as === 'blob' ? response.blob() : response.json();
}

/** @param {string} path @returns {Promise<any | null>} null when the server has no such route (404) */
export async function optional(path) {
  try {
    return await api(path);
  } catch (err) {
    if (err instanceof ApiError && err.status === 404) return null;
    throw err;
  }
}
