/**
 * The teacher's board: upload a deck (PDF, PNG or JPEG: POST /api/decks), show it or a blank
 * board, turn pages, draw (pen, colours, eraser) with a mouse, a finger or a stylus (pointer
 * events, js/board_draw.js), undo, clear, point, and let the student holding the floor draw.
 */
import { BoardView } from './board.js';
import { bindPen } from './board_draw.js';
import { byId } from './dom.js';
import { t, errorText } from './i18n.js';

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
    this.pointedAt = 0;
    this.bindControls();
  }

  show(d) {
    if (!this.view) {
      this.view = new BoardView(byId('board'));
      bindPen(this.view, {
        enabled: () => true,
        tool: () => this.tool,
        color: () => this.color,
        send: (stroke) => this.call('board_stroke', stroke),
        point: (x, y) => this.point(x, y),
        notice: () => {}, // call() has told the teacher already
      });
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

  point(x, y) {
    if (x !== null && performance.now() - this.pointedAt < POINTER_MS) return;
    this.pointedAt = performance.now();
    const round = (v) => (v === null ? null : Math.round(v));
    this.conn.call('board_pointer', { x: round(x), y: round(y) });
  }
}
