/**
 * The whiteboard overlay of the call page: a canvas over the video, a toolbar (colours,
 * pen/eraser, undo, clear, export PNG). Built only on `call.whiteboard`.
 */

import { BOARD_SIZE, WhiteboardEvent } from '/sdk/peercall.js';
import { el } from './dom.js';

const COLOURS = ['#e5484d', '#30a46c', '#0090ff', '#ffc53d', '#ffffff', '#111111'];
/** Canvas backing size: 16:9, scaled to the stage by CSS. */
const WIDTH = 1280;
const HEIGHT = 720;

/**
 * @param {import('/sdk/peercall.js').Call} call
 * @param {HTMLElement} controls the control bar
 * @param {HTMLElement} stage the video stage the board overlays
 */
export function setupWhiteboard(call, controls, stage) {
  const board = call.whiteboard;
  const canvas = /** @type {HTMLCanvasElement} */ (el('canvas', { class: 'pc-board', 'data-testid': 'whiteboard-canvas', width: String(WIDTH), height: String(HEIGHT) }));
  const ctx = /** @type {CanvasRenderingContext2D} */ (canvas.getContext('2d'));
  let colour = COLOURS[0];
  let erase = false;
  const tool = (/** @type {string} */ label, /** @type {string} */ testId, /** @type {() => void} */ run, /** @type {Record<string, string>} */ extra = {}) => {
    const b = el('button', { type: 'button', class: 'pc-btn pc-btn-small', 'data-testid': testId, ...extra }, [label]);
    b.addEventListener('click', run);
    return b;
  };
  const swatches = COLOURS.map((c) => tool('', `whiteboard-colour-${c.slice(1)}`, () => {
    colour = c;
    erase = false;
    refreshTools();
  }, { style: `background:${c}`, 'aria-label': `Colour ${c}` }));
  const eraser = tool('Eraser', 'whiteboard-eraser', () => { erase = !erase; refreshTools(); });
  const toolbar = el('div', { class: 'pc-board-tools', 'data-testid': 'whiteboard-tools' }, [
    ...swatches, eraser,
    tool('Undo', 'whiteboard-undo', () => board.undo()),
    tool('Clear', 'whiteboard-clear', () => board.clear()),
    tool('PNG', 'whiteboard-export', () => exportPng()),
  ]);
  const overlay = el('div', { class: 'pc-board-overlay', 'data-testid': 'whiteboard', hidden: '' }, [canvas, toolbar]);
  stage.append(overlay);
  const button = el('button', {
    type: 'button', class: 'pc-btn pc-round', 'data-testid': 'whiteboard-button', 'aria-label': 'Whiteboard', 'aria-pressed': 'false', title: 'Whiteboard',
  }, [el('span', { 'aria-hidden': 'true' }, ['✏️'])]);
  controls.insertBefore(button, controls.lastElementChild);
  button.addEventListener('click', () => {
    overlay.hidden = !overlay.hidden;
    button.setAttribute('aria-pressed', String(!overlay.hidden));
    redraw();
  });

  function refreshTools() {
    swatches.forEach((swatch, i) => swatch.setAttribute('aria-pressed', String(!erase && COLOURS[i] === colour)));
    eraser.setAttribute('aria-pressed', String(erase));
  }
  refreshTools();

  /** @type {number[] | null} the stroke being drawn, in board units */
  let points = null;
  const toBoard = (/** @type {PointerEvent} */ event) => {
    const rect = canvas.getBoundingClientRect();
    return [((event.clientX - rect.left) / rect.width) * BOARD_SIZE, ((event.clientY - rect.top) / rect.height) * BOARD_SIZE];
  };
  canvas.addEventListener('pointerdown', (event) => {
    canvas.setPointerCapture(event.pointerId);
    points = toBoard(event);
  });
  canvas.addEventListener('pointermove', (event) => {
    if (!points) return;
    const [x, y] = toBoard(event);
    const [lx, ly] = points.slice(-2);
    if (Math.hypot(x - lx, y - ly) < 6) return; // compact: skip points closer than ~2 px
    points.push(x, y);
    redraw(); // live preview of our own stroke
  });
  const finish = () => {
    if (!points) return;
    const stroke = points;
    points = null;
    try {
      board.stroke({ points: stroke, color: colour, width: erase ? 60 : 14, erase });
    } catch (err) {
      console.warn(`[peercall] whiteboard: ${/** @type {Error} */ (err).message}`);
    }
  };
  canvas.addEventListener('pointerup', finish);
  canvas.addEventListener('pointercancel', finish);

  function redraw() {
    if (overlay.hidden) return;
    board.draw(ctx, WIDTH, HEIGHT);
    if (points && points.length >= 2) {
      const sx = WIDTH / BOARD_SIZE;
      ctx.save();
      ctx.strokeStyle = colour;
      ctx.lineWidth = 14 * sx;
      ctx.lineCap = 'round';
      ctx.globalCompositeOperation = erase ? 'destination-out' : 'source-over';
      ctx.beginPath();
      ctx.moveTo(points[0] * sx, points[1] * (HEIGHT / BOARD_SIZE));
      for (let i = 2; i < points.length; i += 2) ctx.lineTo(points[i] * sx, points[i + 1] * (HEIGHT / BOARD_SIZE));
      ctx.stroke();
      ctx.restore();
    }
  }
  board.on(WhiteboardEvent.Change, () => {
    if (overlay.hidden) button.dataset.changed = 'true';
    redraw();
  });

  /** The board on a white background, downloaded as whiteboard.png. */
  function exportPng() {
    const out = document.createElement('canvas');
    out.width = WIDTH;
    out.height = HEIGHT;
    const octx = /** @type {CanvasRenderingContext2D} */ (out.getContext('2d'));
    octx.fillStyle = '#ffffff';
    octx.fillRect(0, 0, WIDTH, HEIGHT);
    const layer = document.createElement('canvas');
    layer.width = WIDTH;
    layer.height = HEIGHT;
    board.draw(/** @type {CanvasRenderingContext2D} */ (layer.getContext('2d')), WIDTH, HEIGHT);
    octx.drawImage(layer, 0, 0);
    out.toBlob((blob) => {
      if (!blob) return;
      const link = el('a', { href: URL.createObjectURL(blob), download: 'whiteboard.png' });
      link.click();
      setTimeout(() => URL.revokeObjectURL(link.getAttribute('href') ?? ''), 10_000);
    }, 'image/png');
  }
}
