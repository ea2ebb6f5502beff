/**
 * The teacher's board: upload a deck (PDF, PNG or JPEG: POST /api/decks), show it or a blank
 * board, turn pages, draw (pen, colours, eraser) with a mouse, a finger or a stylus (pointer
 * events), undo, clear, point, and let the student holding the floor draw. A stroke is
 * simplified (Ramer-Douglas-Peucker, about a pixel) before it is sent, and shown at once;
 * the server's `stroke` with the same client id replaces it.
 */
import { BoardView, SPACE } from './board.js';
import { byId } from './dom.js';
import { t, errorText } from './i18n.js';

const MAX_POINTS = 500; // the server's bound per stroke ([lesson] rules: board_max_points)
const WIDTH = { pen: 40, eraser: 300 }; // page units: 4 px and 30 px on a 1000 px board
const POINTER_MS = 80; // the server sends at most ten a second anyway

/**
 * @param {any} conn the LessonConnection
 * @param {any} rest the teacher's Rest client
 * @param {{notice: (text: string) => void}} page
 */
export function bindTeacherBoard(conn, rest, page) {
  const board = new TeacherBoard(conn, rest, page);
  conn.on('welcome', (ack) => ack.primary && ack.snapshot.board && board.show(ack.snapshot.board));
  conn.on('board', (d) => board.show(d));
  conn.on('stroke', (d) => board.stroke(d));
  conn.on('stroke_undone', (d) => board.view && board.view.undone(d));
  conn.on('pointer', (d) => board.view && board.view.pointer(d));
  conn.on('board_draw', (d) => (byId('board-floor').checked = d.allowed));
  return board;
}

class TeacherBoard {
  constructor(conn, rest, page) {
    Object.assign(this, { conn, rest, page });
    this.view = null;
    this.tool = 'pen';
    this.color = 'black';
    this.line = null; // the stroke being drawn: [x0, y0, x1, y1, …] in page units (floats)
    this.pointedAt = 0;
    this.bindControls();
  }

  show(d) {
    if (!this.view) {
      this.view = new BoardView(byId('board'));
      this.bindCanvas(this.view.canvas);
    }
    this.view.show(d);
    byId('board-floor').checked = d.floor_draw;
    byId('board-prev').disabled = d.page <= 1;
    byId('board-next').disabled = d.page >= d.pages;
    byId('board-tools').hidden = false;
  }

  stroke(s) {
    if (!this.view) return;
    this.view.strokes.delete(s.client_id); // ours, drawn already: the stored one replaces it
    this.view.stroke(s);
  }

  async call(event, payload) {
    const ack = await this.conn.call(event, payload);
    if (!ack.ok) this.page.notice(errorText(ack.error));
    return ack;
  }

  bindControls() {
    byId('deck-file').onchange = (e) => this.upload(e.target);
    byId('board-blank').onclick = () => this.call('board_show', { deck: null, page: 1 });
    byId('board-prev').onclick = () => this.turn(-1);
    byId('board-next').onclick = () => this.turn(1);
    byId('board-undo').onclick = () => this.call('board_undo');
    byId('board-clear').onclick = () => this.call('board_clear');
    byId('board-floor').onchange = (e) => this.call('board_floor_draw', { allowed: e.target.checked });
    for (const b of byId('board-tools').querySelectorAll('[data-tool]')) {
      b.onclick = () => this.choose('tool', b.dataset.tool, '[data-tool]');
    }
    for (const b of byId('board-tools').querySelectorAll('[data-color]')) {
      b.onclick = () => this.choose('color', b.dataset.color, '[data-color]');
    }
  }

  choose(what, value, selector) {
    this[what] = value;
    for (const b of byId('board-tools').querySelectorAll(selector)) {
      b.setAttribute('aria-pressed', String(b.dataset[what] === value));
    }
  }

  turn(by) {
    const shown = this.view && this.view.board;
    if (shown) this.call('board_turn', { page: shown.page + by });
  }

  async upload(input) {
    const file = input.files && input.files[0];
    if (!file) return;
    const status = byId('board-status');
    status.textContent = t('board.uploading');
    try {
      const type = file.type || 'application/pdf';
      const path = `/api/decks?name=${encodeURIComponent(file.name)}`;
      const deck = await this.rest.request('POST', path, { file: { data: file, type } });
      status.textContent = t('board.uploaded', { title: deck.title || file.name, n: deck.pages });
      await this.call('board_show', { deck: deck.deck, page: 1 });
    } catch (err) {
      status.textContent = '';
      this.page.notice(errorText(err));
    }
    input.value = '';
  }

  // -- drawing and pointing ----------------------------------------------------------------

  bindCanvas(canvas) {
    const at = (e) => {
      const r = canvas.getBoundingClientRect();
      const clamp = (v) => Math.min(SPACE, Math.max(0, v));
      return [clamp(((e.clientX - r.left) / r.width) * SPACE), clamp(((e.clientY - r.top) / r.height) * SPACE)];
    };
    canvas.addEventListener('pointerdown', (e) => {
      canvas.setPointerCapture(e.pointerId);
      if (this.tool === 'pointer') return this.point(at(e));
      this.line = at(e);
    });
    canvas.addEventListener('pointermove', (e) => {
      if (this.tool === 'pointer') return this.point(at(e));
      if (!this.line) return;
      for (const c of e.getCoalescedEvents ? e.getCoalescedEvents() : [e]) this.line.push(...at(c));
      this.preview();
    });
    canvas.addEventListener('pointerup', () => this.finish());
    canvas.addEventListener('pointercancel', () => this.finish());
    canvas.addEventListener('pointerleave', () => this.tool === 'pointer' && this.point([null, null], true));
  }

  point([x, y], now = false) {
    if (!now && performance.now() - this.pointedAt < POINTER_MS) return;
    this.pointedAt = performance.now();
    const round = (v) => (v === null ? null : Math.round(v));
    this.conn.call('board_pointer', { x: round(x), y: round(y) });
  }

  /** The stroke under the pen, drawn as it grows (not yet sent). */
  preview() {
    const view = this.view;
    view.redraw();
    view.draw(this.strokeOf(this.line.map(Math.round), 'drawing'));
  }

  strokeOf(points, id) {
    const board = this.view.board.board;
    return { id, client_id: id, board, points, color: this.color, width: WIDTH[this.tool], tool: this.tool };
  }

  async finish() {
    const line = this.line;
    this.line = null;
    if (!line || !this.view || !this.view.board) return;
    // About a pixel of the board as drawn here, in page units; coarser until it fits.
    let tolerance = SPACE / Math.max(1, this.view.canvas.clientWidth);
    let points = simplify(line, tolerance);
    while (points.length > 2 * MAX_POINTS) points = simplify(line, (tolerance *= 2));
    const id = clientId();
    const stroke = this.strokeOf(points, id);
    this.view.strokes.set(id, stroke);
    this.view.redraw();
    const { client_id, color, width, tool } = stroke;
    const ack = await this.call('board_stroke', { client_id, points, color, width, tool });
    if (!ack.ok && this.view.strokes.delete(id)) this.view.redraw();
  }
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
