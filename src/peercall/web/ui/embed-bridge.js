/**
 * The call page's side of the embedding API: commands in, events out, over `postMessage`
 * with the page that embeds us in an `<iframe>`.
 *
 * Who may talk to us: the origins the server allows to embed the page (`embed_origins`,
 * announced in a `<meta>` tag) and the `origin=` link option. The server's CSP
 * `frame-ancestors` already stops other sites from framing the page at all; on top, a
 * command counts only when it comes from our parent window *and* from the trusted origin,
 * and events are posted to that exact origin (never `*`), so no other site reads them.
 *
 * Wire format (see docs/embed.md):
 *   in:  `{peercall: 'command', id?, command: 'join'|'leave'|'mute'|'unmute'|'camera-off'|'camera-on'}`
 *   out: `{peercall: 'event', event, data}` and `{peercall: 'result', id, ok, error?}`
 */

export const COMMANDS = Object.freeze(['join', 'leave', 'mute', 'unmute', 'camera-off', 'camera-on']);

/**
 * The origin of the page embedding us, if we trust it.
 * @param {string[]} trusted
 * @param {string | null} asked the `origin=` option
 * @param {Location} loc for `ancestorOrigins` (Chromium, Safari)
 * @returns {string | null}
 */
export function targetOrigin(trusted, asked, loc) {
  if (asked && trusted.includes(asked)) return asked;
  const ancestor = /** @type {any} */ (loc).ancestorOrigins?.[0];
  if (ancestor && trusted.includes(ancestor)) return ancestor;
  return trusted.length === 1 ? trusted[0] : null;
}

export class EmbedBridge {
  /**
   * @param {Window} win our window (its parent is the embedding page)
   * @param {string} origin the embedding page's origin (events go there, commands come from there)
   * @param {(command: string) => Promise<unknown>} onCommand
   */
  constructor(win, origin, onCommand) {
    this.win = win;
    this.origin = origin;
    win.addEventListener('message', (event) => {
      if (event.source !== win.parent || event.origin !== origin) return; // not our host page: ignored
      const msg = event.data;
      if (!msg || typeof msg !== 'object' || msg.peercall !== 'command') return;
      const id = typeof msg.id === 'string' || typeof msg.id === 'number' ? msg.id : null;
      if (!COMMANDS.includes(msg.command)) {
        this.#reply(id, false, { code: 'bad_command', message: `unknown command ${String(msg.command).slice(0, 40)}` });
        return;
      }
      onCommand(msg.command).then(
        () => this.#reply(id, true),
        (err) => this.#reply(id, false, { code: String(err?.code ?? 'failed'), message: String(err?.message ?? err) }),
      );
    });
  }

  /** @param {string} event @param {Record<string, unknown>} [data] */
  emit(event, data = {}) {
    this.win.parent.postMessage({ peercall: 'event', event, data }, this.origin);
  }

  /** @param {string | number | null} id @param {boolean} ok @param {{code: string, message: string}} [error] */
  #reply(id, ok, error) {
    if (id === null) return;
    this.win.parent.postMessage({ peercall: 'result', id, ok, ...(error ? { error } : {}) }, this.origin);
  }
}
