/**
 * The board on a page: a deck page (an image fitted to the width, the next one prefetched)
 * or a blank board, its strokes drawn on a canvas over it, and the teacher's pointer. The
 * student page loads this module only once a board is shown; the teacher's board
 * (teacher_board.js) draws on it too. Coordinates run 0..10000 across the page's width and
 * down its height, so a stroke is the same on a phone and a laptop. Pinch zoom is the
 * browser's own (the viewport allows it): the board is an image and a canvas, nothing
 * catches two-finger gestures.
 */
import { h, fill } from './dom.js';
import { t } from './i18n.js';

export const SPACE = 10000;
export const COLORS = {
  black: '#111111',
  red: '#d32f2f',
  blue: '#1565c0',
  green: '#2e7d32',
  orange: '#ef6c00',
  purple: '#6a1b9a',
};
const BLANK_RATIO = 3 / 4;
const DECKS = '/api/decks/';

// The stylesheet comes with the module: the student page does not pay for it until a board.
document.head.append(h('link', { rel: 'stylesheet', href: new URL('../css/board.css', import.meta.url) }));

/** WebP where the browser decodes it (a 1-pixel probe), else JPEG. */
const webp = new Promise((resolve) => {
  const probe = new Image();
  probe.onload = () => resolve(probe.width === 1);
  probe.onerror = () => resolve(false);
  probe.src = 'data:image/webp;base64,UklGRhoAAABXRUJQVlA4TA0AAAAvAAAAEAcQERGIiP4HAA==';
});

let slideBytes = 0;
/** Slide bytes received so far (what the page's "data used" adds; also told as an event). */
export const slidesReceived = () => slideBytes;
if (typeof PerformanceObserver !== 'undefined') {
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      if (!entry.name.includes(DECKS)) continue;
      slideBytes += entry.transferSize || 0;
      window.dispatchEvent(new CustomEvent('sabak:bytes', { detail: { kind: 'slides', bytes: slideBytes } }));
    }
  }).observe({ type: 'resource', buffered: true });
}

/** The URL of a deck page at the width this screen needs. */
export async function pageUrl(deck, page, cssWidth) {
  const w = cssWidth * (window.devicePixelRatio || 1) > 720 ? 1440 : 720;
  return `${DECKS}${deck}/pages/${page}?w=${w}&f=${(await webp) ? 'webp' : 'jpeg'}`;
}

/** Draw one stroke (page units) on a context whose canvas is `w` by `hgt` pixels. */
export function drawStroke(ctx, s, w, hgt) {
  const p = s.points;
  ctx.save();
  ctx.globalCompositeOperation = s.tool === 'eraser' ? 'destination-out' : 'source-over';
  ctx.strokeStyle = ctx.fillStyle = COLORS[s.color] || COLORS.black;
  ctx.lineWidth = Math.max(window.devicePixelRatio || 1, (s.width * w) / SPACE);
  ctx.lineCap = ctx.lineJoin = 'round';
  ctx.beginPath();
  ctx.moveTo((p[0] * w) / SPACE, (p[1] * hgt) / SPACE);
  if (p.length === 2) ctx.lineTo((p[0] * w) / SPACE + 0.01, (p[1] * hgt) / SPACE);
  for (let i = 2; i < p.length; i += 2) ctx.lineTo((p[i] * w) / SPACE, (p[i + 1] * hgt) / SPACE);
  ctx.stroke();
  ctx.restore();
}

/** One board on a page: `show`, `stroke`, `undone`, `pointer` follow the server's messages. */
export class BoardView {
  /** @param {HTMLElement} root */
  constructor(root) {
    this.root = root;
    this.img = h('img', { class: 'board-img', alt: '', decoding: 'async' });
    this.canvas = h('canvas', { class: 'board-ink', 'aria-hidden': 'true' });
    this.dot = h('span', { class: 'board-pointer', hidden: true });
    this.frame = h('div', { class: 'board-frame' }, this.img, this.canvas, this.dot);
    this.caption = h('p', { class: 'board-caption muted' });
    fill(root, this.frame, this.caption);
    root.hidden = false;
    this.board = null;
    /** @type {Map<number|string, any>} this board's strokes by id (and pending ones) */
    this.strokes = new Map();
    this.ratio = BLANK_RATIO;
    this.img.onload = () => {
      this.ratio = this.img.naturalHeight / this.img.naturalWidth || BLANK_RATIO;
      this.resize();
    };
    new ResizeObserver(() => this.resize()).observe(this.frame);
  }

  show(board) {
    const turned = !this.board || this.board.board !== board.board;
    this.board = board;
    this.strokes = new Map(board.strokes.map((s) => [s.id, s]));
    this.root.dataset.board = board.board;
    this.caption.textContent = t('board.page', { n: board.page, total: board.pages });
    this.img.alt = board.deck ? t('board.slide', { n: board.page }) : '';
    if (!board.deck) {
      this.img.hidden = true;
      this.ratio = BLANK_RATIO;
    } else if (turned) this.load(board);
    this.pointer({ x: null });
    this.resize();
  }

  async load(board) {
    const width = this.frame.clientWidth || 360;
    this.img.hidden = false;
    const src = await pageUrl(board.deck, board.page, width);
    if (this.board !== board) return; // turned again meanwhile
    this.img.src = src;
    if (board.page < board.pages) new Image().src = await pageUrl(board.deck, board.page + 1, width);
  }

  stroke(s) {
    if (!this.board || s.board !== this.board.board) return;
    this.strokes.set(s.id, s);
    this.draw(s);
  }

  undone(d) {
    if (!this.board || d.board !== this.board.board) return;
    this.strokes.delete(d.stroke_id);
    this.redraw();
  }

  pointer(d) {
    const off = d.x === null || d.x === undefined || (this.board && d.board && d.board !== this.board.board);
    this.dot.hidden = off;
    if (!off) this.dot.style.transform = `translate(${d.x / 100}cqw, ${(d.y * this.ratio) / 100}cqw)`;
  }

  resize() {
    const dpr = window.devicePixelRatio || 1;
    const w = this.frame.clientWidth;
    this.frame.style.aspectRatio = String(1 / this.ratio);
    this.canvas.width = Math.round(w * dpr);
    this.canvas.height = Math.round(w * this.ratio * dpr);
    this.redraw();
  }

  redraw() {
    const ctx = this.canvas.getContext('2d');
    ctx.clearRect(0, 0, this.canvas.width, this.canvas.height);
    for (const s of this.strokes.values()) this.draw(s);
  }

  draw(s) {
    drawStroke(this.canvas.getContext('2d'), s, this.canvas.width, this.canvas.height);
  }
}

/**
 * The student page's board, in `root`: the page sends it the server's board messages. A
 * learner on this phone who holds the floor may draw once the teacher allows it.
 * @param {{drawer: () => string|null, call: (event: string, payload: any) => Promise<any>,
 *   notice: (text: string) => void}} page
 */
export function mountBoard(root, page) {
  return new StudentBoard(root, page);
}

class StudentBoard extends BoardView {
  constructor(root, page) {
    super(root);
    this.page = page;
    this.allowed = false;
    this.pen = null;
  }

  show(board) {
    super.show(board);
    this.drawing({ allowed: board.floor_draw });
  }

  /** `board_draw`, or the floor changed: may a learner here draw now? */
  drawing(d) {
    if (d) this.allowed = d.allowed;
    const on = Boolean(this.allowed && this.page.drawer());
    if (on && !this.pen) {
      this.pen = import('./board_draw.js').then((m) => m.studentPen(this, this.page));
    }
    if (this.pen) this.pen.then((pen) => pen.enable(Boolean(this.allowed && this.page.drawer())));
  }
}
