/**
 * Wires the embedding API (embed-bridge.js) to the call page: host-page commands drive
 * the same SDK calls as the buttons, and the call's events are forwarded to the host.
 * Inactive when the page is not framed or no embedding origin is trusted.
 */

import { CallEvent } from '/sdk/peercall.js';
import { EmbedBridge, targetOrigin } from './embed-bridge.js';

/**
 * @typedef {import('/sdk/peercall.js').Call} Call
 * @typedef {import('./embed-options.js').EmbedOptions} EmbedOptions
 */

/**
 * @param {EmbedOptions} options
 * @param {{join: () => Promise<void>, call: () => Call | null}} page
 * @returns {{watch(call: Call): void, error(error: unknown): void} | null}
 */
export function setupEmbed(options, page) {
  if (window.parent === window) return null;
  const trusted = [...options.serverOrigins, ...(options.origin ? [options.origin] : [])];
  const origin = targetOrigin(trusted, options.origin, location);
  if (!origin) {
    console.warn('[peercall] embedded by an origin that is not in embed_origins nor origin=: postMessage API off');
    return null;
  }
  const inCall = () => {
    const call = page.call();
    if (!call) throw Object.assign(new Error('not in a call'), { code: 'not_in_call' });
    return call;
  };
  /** @type {Record<string, () => Promise<unknown>>} */
  const handlers = {
    join: () => page.join(),
    leave: async () => inCall().leave('hangup'),
    mute: async () => inCall().media.muteMic(),
    unmute: async () => inCall().media.unmuteMic(),
    'camera-off': async () => inCall().media.cameraOff(),
    'camera-on': async () => inCall().media.cameraOn(),
  };
  const bridge = new EmbedBridge(window, origin, (command) => handlers[command]());
  bridge.emit('ready', {});

  /** @param {any} peer */
  const who = (peer) => ({ peerId: peer?.peerId ?? null, identity: peer?.identity ?? null, name: peer?.name ?? null });
  /** @param {any} error */
  const describe = (error) => ({ code: String(error?.code ?? 'failed'), message: String(error?.message ?? error) });
  return {
    watch(call) {
      bridge.emit('joined', { ...who(call.self), media: { ...call.media.state } });
      call.on(CallEvent.PeerJoined, ({ peer }) => bridge.emit('peer-joined', who(peer)));
      call.on(CallEvent.PeerLeft, ({ peer, peerId, reason }) => bridge.emit('peer-left', { ...who(peer), peerId, reason }));
      call.on(CallEvent.LocalMedia, ({ media }) => bridge.emit('media', { local: true, ...who(call.self), media: { ...media } }));
      call.on(CallEvent.PeerMedia, ({ peer, media }) => bridge.emit('media', { local: false, ...who(peer), media: { ...media } }));
      call.on(CallEvent.ConnectionState, ({ peerId, state }) => bridge.emit('connection', { peerId, state }));
      call.on(CallEvent.Error, ({ error }) => bridge.emit('error', describe(error)));
      call.on(CallEvent.Ended, ({ reason }) => bridge.emit('left', { reason }));
    },
    error(error) {
      bridge.emit('error', describe(error));
    },
  };
}
