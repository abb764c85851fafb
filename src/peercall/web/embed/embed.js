/**
 * peercall embed helper for the host page (served at `/embed.js`; a classic script, so a
 * page on another origin can load it with a plain `<script src>`).
 *
 *   const call = PeercallEmbed.create(document.getElementById('box'), {
 *     url: joinUrl,               // the join_url from POST /api/rooms/{id}/tokens
 *     lang: 'de', theme: 'light', accent: '#e0005a', logo: 'https://app.example/logo.svg',
 *     controls: true, autojoin: false,
 *   });
 *   call.on('joined', (data) => ...);   // ready, joined, peer-joined, peer-left, media, connection, left, error
 *   await call.mute();                   // join, leave, mute, unmute, cameraOff, cameraOn
 *
 * Messages go only to the peercall origin and are accepted only from the iframe's window
 * on that origin. The server must list this page's origin in `embed_origins`.
 */
(function () {
  'use strict';

  const COMMAND_TIMEOUT_MS = 30000;
  const OPTIONS = ['lang', 'theme', 'accent', 'logo'];

  /**
   * @param {HTMLElement} container where the iframe goes
   * @param {{url: string, lang?: string, theme?: string, accent?: string, logo?: string,
   *          controls?: boolean, autojoin?: boolean, title?: string}} options
   */
  function create(container, options) {
    const url = new URL(options.url);
    const origin = url.origin;
    const params = new URLSearchParams(url.hash.replace(/^#/, ''));
    for (const name of OPTIONS) if (options[name]) params.set(name, String(options[name]));
    if (options.controls === false) params.set('controls', '0');
    if (options.autojoin) params.set('autojoin', '1');
    params.set('origin', location.origin);
    url.hash = params.toString();

    const iframe = document.createElement('iframe');
    iframe.src = url.href;
    iframe.allow = 'camera; microphone; display-capture; fullscreen; autoplay';
    iframe.title = options.title || 'Video call';
    iframe.style.border = '0';
    iframe.style.width = '100%';
    iframe.style.height = '100%';

    /** @type {Map<string, Set<Function>>} */
    const listeners = new Map();
    /** @type {Map<number, {resolve: Function, reject: Function, timer: number}>} */
    const pending = new Map();
    /** @type {object[]} commands sent before the page said `ready` */
    let queue = [];
    let nextId = 1;

    const post = (msg) => iframe.contentWindow && iframe.contentWindow.postMessage(msg, origin);
    const emit = (event, data) => {
      for (const fn of listeners.get(event) || []) {
        try { fn(data); } catch (err) { console.error(err); }
      }
    };
    const onMessage = (event) => {
      if (event.source !== iframe.contentWindow || event.origin !== origin) return;
      const msg = event.data;
      if (!msg || typeof msg !== 'object') return;
      if (msg.peercall === 'event') {
        if (msg.event === 'ready' && queue) {
          const waiting = queue;
          queue = null;
          waiting.forEach(post);
        }
        emit(msg.event, msg.data || {});
      } else if (msg.peercall === 'result') {
        const entry = pending.get(msg.id);
        if (!entry) return;
        pending.delete(msg.id);
        clearTimeout(entry.timer);
        if (msg.ok) entry.resolve();
        else entry.reject(Object.assign(new Error(msg.error?.message || 'command failed'), { code: msg.error?.code }));
      }
    };
    window.addEventListener('message', onMessage);

    const command = (name) => new Promise((resolve, reject) => {
      const id = nextId++;
      const timer = setTimeout(() => {
        pending.delete(id);
        reject(Object.assign(new Error(`${name}: no answer`), { code: 'timeout' }));
      }, COMMAND_TIMEOUT_MS);
      pending.set(id, { resolve, reject, timer });
      const msg = { peercall: 'command', id, command: name };
      if (queue) queue.push(msg);
      else post(msg);
    });

    container.appendChild(iframe);
    return {
      iframe,
      join: () => command('join'),
      leave: () => command('leave'),
      mute: () => command('mute'),
      unmute: () => command('unmute'),
      cameraOff: () => command('camera-off'),
      cameraOn: () => command('camera-on'),
      on(event, fn) {
        if (!listeners.has(event)) listeners.set(event, new Set());
        listeners.get(event).add(fn);
        return () => listeners.get(event).delete(fn);
      },
      destroy() {
        window.removeEventListener('message', onMessage);
        for (const entry of pending.values()) clearTimeout(entry.timer);
        pending.clear();
        iframe.remove();
      },
    };
  }

  globalThis.PeercallEmbed = Object.freeze({ create });
})();
