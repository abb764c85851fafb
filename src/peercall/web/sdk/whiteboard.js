/**
 * A shared whiteboard (`call.whiteboard`): strokes, undo and clear, peer to peer over the
 * `peercall-whiteboard` data channel.
 *
 * The board is a set of operations with unique ids, ordered by (timestamp, id), so every
 * member converges on the same picture whatever order they arrive in. Ops are compact:
 * a stroke's points are integers on a {@link BOARD_SIZE} grid, flattened `[x0, y0, x1, …]`.
 * Each op travels reliably and exactly once (reliable.js); a member whose channel opens
 * (late joiner, reconnect, replaced connection) also gets the whole board as `sync`
 * batches, merged by id.
 *
 * @module whiteboard
 */

import { Emitter } from './emitter.js';
import { ErrorCode, PeercallError } from './errors.js';
import { ReliableMessenger, isObject, newId } from './reliable.js';

/** Points are integers in [0, BOARD_SIZE] on both axes (scaled to any canvas). */
export const BOARD_SIZE = 4096;
const MAX_POINTS = 4000;
const MAX_OPS = 20_000;
const MAX_FRAME_BYTES = 60 * 1024;
const COLOR = /^#[0-9a-f]{6}$/i;

/**
 * @typedef {{id: string, ts: number, by: string, kind: 'stroke', color: string, width: number, erase: boolean, points: number[]}} StrokeOp
 * @typedef {{id: string, ts: number, by: string, kind: 'undo', target: string}} UndoOp
 * @typedef {{id: string, ts: number, by: string, kind: 'clear'}} ClearOp
 * @typedef {StrokeOp | UndoOp | ClearOp} WhiteboardOp
 */

/**
 * Names of the whiteboard events.
 * @readonly
 */
export const WhiteboardEvent = Object.freeze({
  /** `{}`: the picture changed (redraw with `call.whiteboard.draw(ctx, width, height)`). */
  Change: 'change',
  /** `{error}`: a member sent an invalid op (`invalid_message`); it was dropped. */
  Error: 'error',
});

/** @extends {Emitter<{change: {}, error: {error: PeercallError}}>} */
export class Whiteboard extends Emitter {
  #hub;
  #self;
  #messenger;
  /** @type {Map<string, WhiteboardOp>} */
  #ops = new Map();
  /** @type {WhiteboardOp[] | null} sorted cache */
  #sorted = null;

  /**
   * @param {import('./data-channels.js').DataHub} hub
   * @param {() => string} selfIdentity
   */
  constructor(hub, selfIdentity) {
    super();
    this.#hub = hub;
    this.#self = selfIdentity;
    this.#messenger = new ReliableMessenger({
      kind: 'whiteboard',
      hub,
      maxBytes: MAX_FRAME_BYTES,
      onOpen: (identity) => this.#sync(identity),
      onMessage: (_identity, { body }) => this.#merge([body.op]),
      onEphemeral: (_identity, body) => { if (Array.isArray(body.sync)) this.#merge(body.sync); },
      onError: (error) => this.emit(WhiteboardEvent.Error, { error }),
    });
  }

  /** @returns {WhiteboardOp[]} every op, in board order */
  get ops() {
    this.#sorted ??= [...this.#ops.values()].sort((a, b) => a.ts - b.ts || (a.id < b.id ? -1 : 1));
    return this.#sorted;
  }

  /**
   * Add a finished stroke.
   * @param {{points: number[], color?: string, width?: number, erase?: boolean}} stroke
   *   points on the {@link BOARD_SIZE} grid, `[x0, y0, x1, y1, …]`
   * @returns {string} the stroke id
   */
  stroke({ points, color = '#e5484d', width = 12, erase = false }) {
    const flat = points.map((v) => Math.round(Math.min(BOARD_SIZE, Math.max(0, v))));
    /** @type {StrokeOp} */
    const op = { id: newId(), ts: Date.now(), by: this.#self(), kind: 'stroke', color, width: Math.round(width), erase, points: flat };
    const problem = checkOp(op);
    if (problem) throw new PeercallError(ErrorCode.InvalidArgument, `Bad stroke: ${problem}`);
    return this.#local(op);
  }

  /** Undo our latest stroke that is still visible. @returns {string | null} the undone stroke id */
  undo() {
    const undone = new Set(this.ops.filter((op) => op.kind === 'undo').map((op) => /** @type {UndoOp} */ (op).target));
    const mine = this.#visible().filter((op) => op.by === this.#self() && !undone.has(op.id));
    const target = mine.at(-1);
    if (!target) return null;
    this.#local({ id: newId(), ts: Date.now(), by: this.#self(), kind: 'undo', target: target.id });
    return target.id;
  }

  /** Clear the board for everyone. */
  clear() {
    this.#local({ id: newId(), ts: Date.now(), by: this.#self(), kind: 'clear' });
  }

  /**
   * Draw the board on a 2D canvas context (transparent background; erasing cuts through).
   * @param {CanvasRenderingContext2D} ctx @param {number} width @param {number} height
   */
  draw(ctx, width, height) {
    ctx.clearRect(0, 0, width, height);
    const sx = width / BOARD_SIZE;
    const sy = height / BOARD_SIZE;
    const undone = new Set(this.ops.filter((op) => op.kind === 'undo').map((op) => /** @type {UndoOp} */ (op).target));
    for (const op of this.#visible()) {
      if (undone.has(op.id)) continue;
      ctx.save();
      ctx.globalCompositeOperation = op.erase ? 'destination-out' : 'source-over';
      ctx.strokeStyle = op.color;
      ctx.fillStyle = op.color;
      ctx.lineWidth = op.width * sx;
      ctx.lineCap = 'round';
      ctx.lineJoin = 'round';
      ctx.beginPath();
      ctx.moveTo(op.points[0] * sx, op.points[1] * sy);
      for (let i = 2; i < op.points.length; i += 2) ctx.lineTo(op.points[i] * sx, op.points[i + 1] * sy);
      if (op.points.length === 2) ctx.lineTo(op.points[0] * sx + 0.01, op.points[1] * sy);
      ctx.stroke();
      ctx.restore();
    }
  }

  /** @returns {StrokeOp[]} the strokes after the last clear */
  #visible() {
    const ops = this.ops;
    let start = 0;
    ops.forEach((op, index) => { if (op.kind === 'clear') start = index + 1; });
    return /** @type {StrokeOp[]} */ (ops.slice(start).filter((op) => op.kind === 'stroke'));
  }

  /** @param {WhiteboardOp} op @returns {string} */
  #local(op) {
    this.#add(op);
    this.#messenger.send({ op });
    this.emit(WhiteboardEvent.Change, {});
    return op.id;
  }

  /** @param {WhiteboardOp} op @returns {boolean} added */
  #add(op) {
    if (this.#ops.has(op.id)) return false;
    if (this.#ops.size >= MAX_OPS) throw new PeercallError(ErrorCode.QueueFull, 'The whiteboard is full: clear it');
    this.#ops.set(op.id, op);
    this.#sorted = null;
    return true;
  }

  /** @param {unknown[]} ops */
  #merge(ops) {
    let changed = false;
    for (const op of ops) {
      const problem = checkOp(op);
      if (problem) {
        this.emit(WhiteboardEvent.Error, { error: new PeercallError(ErrorCode.InvalidMessage, `Rejected a whiteboard op: ${problem}`, { ref: 'whiteboard' }) });
        continue;
      }
      try {
        changed = this.#add(/** @type {WhiteboardOp} */ (op)) || changed;
      } catch (err) {
        this.emit(WhiteboardEvent.Error, { error: /** @type {PeercallError} */ (err) });
        break;
      }
    }
    if (changed) this.emit(WhiteboardEvent.Change, {});
  }

  /** The whole board to a member whose channel just opened, in frames under the size limit. @param {string} identity */
  #sync(identity) {
    const channel = this.#hub.channel('whiteboard', identity);
    if (!channel) return;
    /** @type {WhiteboardOp[]} */
    let batch = [];
    let bytes = 0;
    const flush = () => {
      if (batch.length) channel.send(JSON.stringify({ t: 'eph', body: { sync: batch } }));
      batch = [];
      bytes = 0;
    };
    for (const op of this.ops) {
      const size = JSON.stringify(op).length + 1;
      if (bytes + size > MAX_FRAME_BYTES - 100) flush();
      batch.push(op);
      bytes += size;
    }
    flush();
  }
}

/** @param {unknown} op @returns {string | null} what is wrong with it */
function checkOp(op) {
  if (!isObject(op)) return 'not an object';
  if (typeof op.id !== 'string' || !/^[A-Za-z0-9_-]{1,64}$/.test(op.id)) return 'bad id';
  if (typeof op.ts !== 'number' || !Number.isFinite(op.ts)) return 'bad ts';
  if (typeof op.by !== 'string' || op.by.length > 256) return 'bad author';
  if (op.kind === 'clear') return null;
  if (op.kind === 'undo') return typeof op.target === 'string' && op.target.length <= 64 ? null : 'bad undo target';
  if (op.kind !== 'stroke') return 'unknown kind';
  if (typeof op.color !== 'string' || !COLOR.test(op.color)) return 'bad colour';
  if (!Number.isInteger(op.width) || /** @type {number} */ (op.width) < 1 || /** @type {number} */ (op.width) > 400) return 'bad width';
  if (typeof op.erase !== 'boolean') return 'bad erase flag';
  const points = op.points;
  if (!Array.isArray(points) || points.length < 2 || points.length % 2 || points.length > 2 * MAX_POINTS) return 'bad points';
  if (!points.every((v) => Number.isInteger(v) && v >= 0 && v <= BOARD_SIZE)) return 'points off the board';
  return null;
}
