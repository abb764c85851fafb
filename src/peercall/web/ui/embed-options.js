/**
 * Options of an embedded call page, read from the link's fragment next to the token:
 * `#token=…&lang=de&theme=light&accent=%23e0005a&logo=https://…&controls=0&origin=https://app.example`.
 * Every value is validated here; anything malformed is ignored (the page stays usable).
 */

/**
 * @typedef {object} EmbedOptions
 * @property {'light' | 'dark' | null} theme
 * @property {string | null} accent a CSS hex colour
 * @property {string | null} logo an absolute http(s) URL
 * @property {boolean} controls false hides the call controls (the host page drives the call)
 * @property {string | null} origin the embedding page's origin (for postMessage)
 * @property {string[]} serverOrigins origins the server allows to embed (`embed_origins`)
 */

/** @param {string} value @returns {string | null} the value if it is exactly an origin */
export function asOrigin(value) {
  try {
    const url = new URL(value);
    return (url.protocol === 'https:' || url.protocol === 'http:') && url.origin === value ? value : null;
  } catch {
    return null;
  }
}

/**
 * @param {string} hash `location.hash`
 * @param {Document} doc for the server's `<meta name="peercall-embed-origins">`
 * @returns {EmbedOptions}
 */
export function readEmbedOptions(hash, doc) {
  const params = new URLSearchParams(hash.replace(/^#/, ''));
  const theme = params.get('theme');
  const accent = params.get('accent') ?? '';
  const logo = params.get('logo') ?? '';
  const meta = doc.querySelector('meta[name="peercall-embed-origins"]')?.getAttribute('content') ?? '';
  return {
    theme: theme === 'light' || theme === 'dark' ? theme : null,
    accent: /^#[0-9a-fA-F]{3,8}$/.test(accent) ? accent : null,
    logo: /^https?:\/\//.test(logo) || logo.startsWith('/') ? logo : null,
    controls: params.get('controls') !== '0',
    origin: asOrigin(params.get('origin') ?? ''),
    serverOrigins: meta.split(/\s+/).map(asOrigin).filter((o) => o !== null),
  };
}

/**
 * Theme, accent colour, logo and controls. The logo must come from this server or from
 * an embedding origin (the page's CSP allows images only from those).
 * @param {EmbedOptions} options
 * @param {Document} doc
 */
export function applyEmbedOptions(options, doc) {
  const root = doc.documentElement;
  if (options.theme) root.dataset.theme = options.theme;
  if (options.accent) {
    root.style.setProperty('--pc-accent', options.accent);
    root.style.setProperty('--pc-accent-hover', options.accent);
  }
  if (!options.controls) root.dataset.controls = 'off';
  if (options.logo) {
    const img = /** @type {HTMLImageElement | null} */ (doc.querySelector('[data-testid="logo"]'));
    if (img) {
      img.src = new URL(options.logo, doc.baseURI).href;
      img.hidden = false;
    }
  }
}
