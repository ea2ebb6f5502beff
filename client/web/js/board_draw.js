/**
 * Drawing on a board (js/board.js's BoardView) with pointer events: a mouse, a finger or a
 * stylus. The line is drawn as it grows, simplified (Ramer-Douglas-Peucker, about a pixel,
 * coarser until it fits the server's 500 points) when the pen lifts, shown at once and sent;
 * the server's `stroke` with the same client id replaces it (or a refusal takes it away).
 * The teacher's board (teacher_board.js) and a student holding the floor, when the teacher
 * allows it (loaded by board.js only then), draw through it.
 */
import { SPACE } from './board.js';
import { h } from './dom.js';
import { t, errorText } from './i18n.js';

const MAX_POINTS = 500; // the server's bound per stroke (core/rules.py board_max_points)
export const WIDTH = { pen: 40, eraser: 300 }; // page units: 4 px and 30 px on a 1000 px board

/**
 * Let `view`'s canvas draw while `opts.enabled()`.
 * @param {any} view a BoardView
 * @param {{enabled: () => boolean, tool: () => string, color: () => string,
 *   send: (stroke: any) => Promise<any>, point?: (x: number|null, y: number|null) => void,
 *   notice: (text: string) => void}} opts
 */
export function bindPen(view, opts) {
  const canvas = view.canvas;
  let line = null; // [x0, y0, x1, y1, …] in page units (floats) while the pen is down
  const at = (e) => {
    const r = canvas.getBoundingClientRect();
    const clamp = (v) => Math.min(SPACE, Math.max(0, v));
    return [clamp(((e.clientX - r.left) / r.width) * SPACE), clamp(((e.clientY - r.top) / r.height) * SPACE)];
  };
  const strokeOf = (points, id) => {
    const tool = opts.tool() === 'eraser' ? 'eraser' : 'pen';
    return { id, client_id: id, board: view.board.board, points, color: opts.color(), width: WIDTH[tool], tool };
  };
  canvas.addEventListener('pointerdown', (e) => {
    if (!opts.enabled() || !view.board) return;
    try {
      canvas.setPointerCapture(e.pointerId); // the line goes on past the board's edge
    } catch {
      // not a live pointer (a synthetic event): draw without capture
    }
    if (opts.tool() === 'pointer') return opts.point(...at(e));
    line = at(e);
  });
  canvas.addEventListener('pointermove', (e) => {
    if (opts.enabled() && opts.tool() === 'pointer') return opts.point(...at(e));
    if (!line) return;
    // The moves the browser merged into this one; none for some (and for synthetic) events.
    const merged = e.getCoalescedEvents ? e.getCoalescedEvents() : [];
    for (const c of merged.length ? merged : [e]) line.push(...at(c));
    view.redraw();
    view.draw(strokeOf(line.map(Math.round), 'drawing'));
  });
  canvas.addEventListener('pointerleave', () => opts.tool() === 'pointer' && opts.point(null, null));
  const finish = async () => {
    const drawn = line;
    line = null;
    if (!drawn || !view.board) return;
    // About a pixel of the board as drawn here, in page units; coarser until it fits.
    let tolerance = SPACE / Math.max(1, canvas.clientWidth);
    let points = simplify(drawn, tolerance);
    while (points.length > 2 * MAX_POINTS) points = simplify(drawn, (tolerance *= 2));
    const stroke = strokeOf(points, clientId());
    view.strokes.set(stroke.id, stroke);
    view.redraw();
    const { client_id, color, width, tool } = stroke;
    const ack = await opts.send({ client_id, points, color, width, tool });
    if (ack.ok) return;
    opts.notice(errorText(ack.error));
    if (view.strokes.delete(stroke.id)) view.redraw();
  };
  canvas.addEventListener('pointerup', finish);
  canvas.addEventListener('pointercancel', finish);
}

/** A student holding the floor, allowed to draw: a "draw" switch and undo under the board. */
export function studentPen(view, page) {
  const toggle = h('input', { type: 'checkbox' });
  const bar = h(
    'div',
    { class: 'board-tools' },
    h('label', { class: 'row' }, toggle, h('span', { text: t('board.draw') })),
    h('button', { type: 'button', text: t('board.undo'), onclick: () => page.call('board_undo', {}) }),
  );
  view.root.append(bar);
  // Drawing takes the touches on the board, so the page does not scroll under the finger:
  // only while the student has switched it on.
  toggle.onchange = () => view.root.classList.toggle('drawing', toggle.checked);
  let allowed = false;
  bindPen(view, {
    enabled: () => allowed && toggle.checked,
    tool: () => 'pen',
    color: () => 'blue',
    send: (stroke) => page.call('board_stroke', stroke),
    notice: page.notice,
  });
  return {
    enable(on) {
      allowed = on;
      bar.hidden = !on;
      if (!on) view.root.classList.remove('drawing');
      toggle.checked = toggle.checked && on;
    },
  };
}

/** Ramer-Douglas-Peucker on a flat [x0, y0, …] list; whole numbers out. */
export function simplify(flat, tolerance) {
  const n = flat.length / 2;
  if (n <= 2) return flat.map(Math.round);
  const keep = new Uint8Array(n);
  keep[0] = keep[n - 1] = 1;
  const stack = [[0, n - 1]];
  while (stack.length) {
    const [a, b] = stack.pop();
    const [ax, ay, bx, by] = [flat[2 * a], flat[2 * a + 1], flat[2 * b], flat[2 * b + 1]];
    const len = Math.hypot(bx - ax, by - ay);
    let far = -1;
    let most = tolerance;
    for (let i = a + 1; i < b; i++) {
      const [x, y] = [flat[2 * i], flat[2 * i + 1]];
      // From the chord; from its end when the chord is a point (a closed loop).
      const d = len ? Math.abs((by - ay) * x - (bx - ax) * y + bx * ay - by * ax) / len : Math.hypot(x - ax, y - ay);
      if (d > most) [far, most] = [i, d];
    }
    if (far >= 0) {
      keep[far] = 1;
      stack.push([a, far], [far, b]);
    }
  }
  const out = [];
  for (let i = 0; i < n; i++) if (keep[i]) out.push(Math.round(flat[2 * i]), Math.round(flat[2 * i + 1]));
  return out;
}

function clientId() {
  const bytes = crypto.getRandomValues(new Uint8Array(12));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}
