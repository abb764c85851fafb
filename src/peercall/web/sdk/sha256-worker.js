/**
 * Incremental SHA-256 off the page's main thread (file transfers): the page posts the bytes
 * it has finished with (transferred, not copied) and asks for the digest at the end.
 * Messages in: `{op: 'update', buf, offset, length}`, `{op: 'digest'}`; out: `{hex}`.
 */

import { sha256 } from '../vendor/noble-hashes/sha2.js';

const hash = sha256.create();
self.onmessage = ({ data }) => {
  if (data.op === 'update') {
    hash.update(new Uint8Array(data.buf, data.offset, data.length));
    return;
  }
  let hex = '';
  for (const byte of hash.digest()) hex += byte.toString(16).padStart(2, '0');
  self.postMessage({ hex });
};
