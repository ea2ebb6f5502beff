/**
 * The student page (/join): find the lesson from the personal link (or join as a guest with
 * the lesson code; student_entry.js), then run the lesson on a LessonConnection. Page logic
 * only: the socket lives in protocol.js, the attendance check in student_checks.js, the
 * rendering in student_view.js and chat_view.js.
 */
import { LessonConnection } from './protocol.js';
import { byId, flash } from './dom.js';
import {
  t,
  errorText,
  setLanguage,
  preferredLanguage,
  bindLanguageSelect,
  onLanguage,
} from './i18n.js';
import { renderChat } from './chat_view.js';
import { renderBanner } from './banner.js';
import { bindLifecycle } from './lifecycle.js';
import { receiveMode, setReceiveMode, onReceiveMode } from './receive_mode.js';
import * as view from './student_view.js';
import { loadLate, lateParts, withLate, followLate } from './student_late.js';
import {
  bindEntry,
  bindLearnerAdd,
  askGuest,
  askMe,
  findLesson,
  loadMedia,
} from './student_entry.js';

/** @type {import('./student_view.js').StudentState & {chat: Map<number, any>, failed: any[],
 *   skew: number, waiting: boolean, over: boolean}} */
const state = {
  lesson: null,
  count: 0,
  chatLocked: false,
  chat: new Map(),
  learners: new Map(),
  primary: null,
  as: null,
  openCheck: null,
  localDeadline: 0,
  windowMs: 0,
  answering: new Set(),
  failed: [],
  skew: 0,
  waiting: false,
  over: false,
  recording: 'off',
};
/** @type {LessonConnection|null} */
let conn = null;
let mediaFor = null;
/** Refusals of boot.js's join (no lesson named) that the /api/me answer explains instead:
 * no lesson of the course is live yet, or the link is a teacher's. */
const NO_LESSON = ['no-live-lesson', 'invalid-payload'];
/** The /api/me answer boot.js asked for, while its early join may still need it. */
let earlyMe = null;
/** Learners whose hand this phone is lowering (their 'hand' then needs no notice). */
const lowering = new Set();
const life = bindLifecycle(() => conn);
let recorded = false; // recorded at some moment: the ended screen links to the replay

async function main() {
  // What the page's first script (boot.js, written into the page) already started.
  const boot = globalThis.sabakBoot || { me: null, early: null };
  // The catalogue and the lesson are asked for at once: on a slow link each is a round trip.
  const words = setLanguage(preferredLanguage());
  const fragment = decodeURIComponent(location.hash.slice(1));
  const guest = !fragment || fragment.startsWith('code=');
  const me = guest ? null : boot.me || askMe(fragment);
  const early = guest ? null : await boot.early;
  await words;
  bindLanguageSelect(byId('lang'));
  onLanguage(renderAll);
  bindControls();
  view.bindEnlarge();
  view.renderMedia(receiveMode());
  onReceiveMode(view.renderMedia);
  if (guest) askGuest(fragment.slice(5));
  else if (early && !early.finished) {
    earlyMe = me; // the page listens to the connection boot.js opened and joined
    connect(early.original, null, early);
  } else findLesson(fragment, me);
}

// -- the lesson ---------------------------------------------------------------------------

function connect(auth, lessonId, early = null) {
  view.showEntry(t('conn.connecting'));
  state.over = false;
  const c = (conn = early || new LessonConnection({ auth, lessonId }));
  c.guest = Boolean(auth.guest_code);
  life.follow(c);
  c.on('state', () => renderBanner(byId('banner'), c.state, c.queue.length));
  conn.on('welcome', welcome);
  conn.on('admitted', (snapshot) =>
    welcome({ waiting: false, snapshot, primary: true, ice_servers: snapshot.ice_servers }),
  );
  conn.on('learner_added', () => {}); // the connection turns it into a 'welcome'
  conn.on('server_time', (ms) => {
    if (ms) state.skew = Date.now() - ms;
  });
  for (const [name, fn] of Object.entries(HANDLERS)) conn.on(name, fn);
  followLate(c, bindLate);
  conn.start();
  life.take();
  renderBanner(byId('banner'), conn.state);
  conn.release(); // what an early connection heard before the page listened
}

// -- what the server says ---------------------------------------------------------------

function welcome(ack) {
  if (ack.waiting) {
    state.waiting = true;
    view.showLesson(true);
    loadLate();
    return;
  }
  state.waiting = false;
  if (ack.server_time) state.skew = Date.now() - ack.server_time;
  const snap = ack.snapshot;
  const you = snap.you;
  if (ack.primary) {
    state.primary = you.id;
    state.lesson = snap.lesson;
    state.count = snap.present_learners ?? snap.present_count; // the teacher is not counted
    state.chatLocked = snap.lesson.chat_locked;
    state.recording = snap.recording ? snap.recording.state : 'off';
    recorded ||= state.recording !== 'off';
    state.chat = new Map(snap.chat.map((m) => [m.id, m]));
    state.learners = new Map();
  } else {
    for (const m of snap.chat) state.chat.set(m.id, m);
  }
  state.learners.set(you.id, {
    id: you.id,
    name: you.name,
    checks: snap.checks.slice(),
    hand: you.hand_position,
    muted: you.chat_muted,
  });
  if (!state.learners.has(state.as)) state.as = you.id;
  view.showLesson(false);
  renderAll();
  if (ack.primary) startMedia(ack);
  if (ack.primary) floor.clear();
  for (const f of snap.floor) floor.add(f.participant_id);
  if (ack.primary && snap.board) onBoard('show', snap.board);
  if (ack.missed) import('./catch_up.js').then((m) => m.offerCatchUp(ack.missed));
  // Polls, quizzes, the check: after the lesson shows and behind the media's code, which the
  // first video frame waits for (student_late.js).
  loadLate();
}

/** The board's code loads with the first board shown (most lessons never show one). */
let board = null;
const floor = new Set(); // who holds the floor: a learner here may draw when allowed
const boardPage = {
  drawer: () => [...state.learners.keys()].find((id) => floor.has(id)) || null,
  call: (event, payload) => conn.call(event, { ...payload, learner: boardPage.drawer() }),
  notice,
};
function onBoard(what, data) {
  if (!board && what !== 'show') return;
  board ||= import('./board.js').then((m) => m.mountBoard(byId('board'), boardPage));
  board.then((b) => b[what](data));
}

/** Video and sound: their code loads once the student is in (not part of the first load). */
function startMedia(ack) {
  if (mediaFor === conn) return;
  const bound = (mediaFor = conn);
  const page = {
    learners: () => state.learners,
    primary: () => state.primary,
    notice,
    recording: () => state.recording !== 'off',
    renderMedia: () => view.renderMedia(receiveMode()),
  };
  loadMedia().then((m) => m.bindStudentMedia(bound, page, ack));
}

const HANDLERS = {
  board: (d) => onBoard('show', d),
  stroke: (d) => onBoard('stroke', d),
  stroke_undone: (d) => onBoard('undone', d),
  pointer: (d) => onBoard('pointer', d),
  board_draw: (d) => onBoard('drawing', d),
  floor: (d) => {
    if (d.given) floor.add(d.participant_id);
    else floor.delete(d.participant_id);
    onBoard('drawing', null);
  },
  count: (d) => {
    state.count = d.learners ?? d.present;
    if (!state.over) view.renderHeader(state);
  },
  recording: (d) => {
    state.recording = d.state;
    recorded ||= d.state !== 'off';
    if (!state.over) view.renderHeader(state);
  },
  chat: (m) => {
    state.chat.set(m.id, m);
    renderMessages();
    if (!state.learners.has(m.author_id)) withLate((p) => p.attention.chatArrived(m));
  },
  chat_deleted: (d) => {
    state.chat.delete(d.id);
    renderMessages();
  },
  chat_locked: (d) => {
    state.chatLocked = d.locked;
    renderDock();
  },
  chat_muted: (d) => learner(d.participant_id, (l) => (l.muted = d.muted)),
  hand: (d) => learner(d.participant_id, (l) => handChanged(l, d)),
  removed: (d) => gone(d.participant_id, d.reason),
  replaced: (d) => gone(d.participant_id, 'replaced'),
  revoked: (d) => gone(d.participant_id, 'revoked'), // the organizer's new link or erasure
  lesson_ended: () => {
    over(t('end.lesson_ended'));
    if (recorded && !conn.guest) view.showReplayLink(state.lesson.id);
  },
  queue: () => {
    renderMessages();
    renderDock();
    renderBanner(byId('banner'), conn.state, conn.queue.length);
  },
  sent: (item) => {
    if (item.status !== 'failed') return;
    if (item.kind === 'chat') state.failed = [...state.failed.slice(-4), item];
    else notice(errorText(item.ack.error));
  },
  finished: ({ reason, error }) => {
    const asked = earlyMe;
    earlyMe = null;
    if (reason === 'refused' && asked && !state.lesson && NO_LESSON.includes(error?.code)) {
      return findLesson(conn.original.token, asked); // waits for a lesson, or goes to /teach
    }
    if (reason === 'refused' && conn && conn.guest && !state.lesson && !state.waiting) {
      return retryGuest(errorText(error)); // a mistyped code: the form again, not a dead end
    }
    if (reason === 'refused') over(errorText(error));
    else if (reason === 'disconnected') over(t('end.disconnected'));
  },
};

/** A learner's hand moved, went down, or the ones before it did (its number changes). */
function handChanged(l, d) {
  const was = l.hand;
  l.hand = d.raised ? d.position : null;
  const mine = lowering.delete(l.id);
  if (was === null || d.raised || mine) return;
  const several = state.learners.size > 1;
  notice(several ? t('hand.lowered_named', { name: l.name }) : t('hand.lowered'));
}

function retryGuest(message) {
  conn = null;
  view.showEntry(message, true);
  byId('guest-code').select();
}

function learner(pid, change) {
  const l = state.learners.get(pid);
  if (!l) return;
  change(l);
  renderDock();
}

function gone(pid, reason) {
  const l = state.learners.get(pid);
  state.learners.delete(pid);
  if (!state.learners.size) over(t(`end.${reason}`));
  else {
    if (state.as === pid) state.as = state.primary;
    if (l) notice(t(`end.${reason}_named`, { name: l.name }));
    renderAll();
  }
}

function over(message) {
  if (state.over) return;
  state.over = true;
  const late = lateParts();
  if (late) late.checks.setOpenCheck(null, null);
  else state.openCheck = null;
  view.showEntry(message);
}

// -- rendering ----------------------------------------------------------------------------

function renderAll() {
  if (state.over) return;
  view.renderHeader(state);
  view.renderCheck(state, answer);
  view.renderRecord(state);
  view.renderLearners(state);
  view.renderMedia(receiveMode());
  renderMessages();
  renderDock();
}

function renderMessages() {
  const own = conn ? conn.queue.filter((i) => i.kind === 'chat') : [];
  const mine = new Set(state.learners.keys());
  renderChat(byId('chat-list'), [...state.chat.values()], [...own, ...state.failed], { mine });
}

function renderDock() {
  const queued = conn ? conn.queue.some((i) => i.kind === 'hand' && i.learner === state.as) : false;
  view.renderDock(state, queued);
}

/** One learner on this phone answers the open check (open only once its code has loaded). */
function answer(pid) {
  lateParts()?.checks.answer(pid);
}

/** Bind the late parts (student_late.js) to connection `c`; what it told before is replayed. */
function bindLate(p, c) {
  const page = { learners: () => state.learners, skew: () => state.skew, notice };
  p.checks.followChecks(c);
  const snapshot = (snap) => {
    if (conn === c && !state.over) p.checks.setOpenCheck(snap.open_check, null);
    renderAll();
  };
  c.on('welcome', (ack) => !ack.waiting && ack.primary && snapshot(ack.snapshot));
  c.on('admitted', snapshot);
  p.polls.bindPolls(c, page);
  p.quiz.bindQuiz(c, page);
}

function notice(text) {
  flash(byId('notice'), text);
}


// -- controls -----------------------------------------------------------------------------

function bindControls() {
  bindEntry({ state, connect });
  withLate((p) => {
    p.checks.bindChecks({ state, conn: () => conn, notice, renderAll });
    p.attention.bindAttention();
    p.checks.armCue();
    onLanguage(p.attention.renderChip);
  });
  byId('dock').addEventListener('submit', (event) => {
    event.preventDefault();
    const input = byId('chat-text');
    const text = input.value.trim();
    if (!text || !conn) return;
    conn.sendChat(text, byId('chat-to').value, state.as);
    input.value = '';
  });
  byId('hand').addEventListener('click', async () => {
    const me = state.learners.get(state.as);
    if (!me || !conn) return;
    if (me.hand === null) {
      lowering.delete(state.as);
      return conn.raiseHand(state.as);
    }
    const pid = state.as;
    lowering.add(pid);
    const ack = await conn.lowerHand(pid);
    if (!ack.ok) {
      lowering.delete(pid);
      notice(errorText(ack.error));
    }
  });
  byId('as').addEventListener('change', (event) => {
    state.as = event.target.value;
    renderDock();
  });
  byId('receive').addEventListener('change', (event) => {
    setReceiveMode(event.target.value);
    // Checks reach a locked phone.
    if (event.target.value === 'audio') withLate((p) => p.checks.askToNotify());
  });
  bindLearnerAdd(() => conn);
}

main();
