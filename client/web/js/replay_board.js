/**
 * The board in a replay: the deck page (or blank board) shown at the sound's time with its
 * strokes as they were then, redrawn on a seek. The manifest's `board` moments are the very
 * messages the live pages got (core/board_replay.py): a `board` moment is the page and its
 * strokes, `stroke` adds one, `stroke_undone` takes one back. The replay page imports this
 * module (and with it board.js's drawing) only when the lesson showed a board.
 */
import { BoardView } from './board.js';

/** The board at lesson time `t` (ms): the last `board` moment then, strokes applied; or null. */
export function boardAt(moments, t) {
  let board = null;
  let at = -1;
  for (const [i, m] of moments.entries()) {
    if (m.t > t) break;
    at = i;
    if (m.type === 'board') board = { ...m, strokes: [...m.strokes] };
    else if (!board || m.board !== board.board) continue;
    else if (m.type === 'stroke') board.strokes.push(m); // its id, points, colour, width, tool
    else if (m.type === 'stroke_undone') {
      board.strokes = board.strokes.filter((s) => s.id !== m.stroke_id);
    }
  }
  return { board, at };
}

/** Follows the sound: `follow(t)` redraws only when a board moment was crossed. */
export class ReplayBoard {
  /** @param {HTMLElement} root @param {any[]} moments */
  constructor(root, moments) {
    this.root = root;
    this.moments = moments;
    this.view = new BoardView(root);
    this.at = -2; // the index of the last moment drawn (-1: before the first)
    root.hidden = true;
  }

  follow(t) {
    const { board, at } = boardAt(this.moments, t);
    if (at === this.at) return;
    this.at = at;
    this.root.hidden = !board;
    if (board) this.view.show(board);
  }
}
