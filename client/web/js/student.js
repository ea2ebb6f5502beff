/**
 * The student page (/join): find the lesson from the personal link (or join as a guest with
 * the lesson code), then run the lesson on a LessonConnection. Page logic only: the socket
 * lives in protocol.js, the rendering in student_view.js and chat_view.js.
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
import { armCue, askToNotify, cue } from './cue.js';
import { receiveMode, setReceiveMode, onReceiveMode } from './receive_mode.js';
import * as view from './student_view.js';
import { bindPolls } from './polls.js';
import { bindQuiz } from './quiz.js';
import { bindAttention, announce, chatArrived, renderChip } from './attention.js';
import { me as early } from './boot.js';
import { bindLearnerAdd } from './learner_add.js';

const POLL_MS = 10000;
const NAME_KEY = 'sabak.name';

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
};
/** @type {LessonConnection|null} */
let conn = null;
let ticker = 0;
let mediaFor = null;
/** Learners whose hand this phone is lowering (their 'hand' then needs no notice). */
const lowering = new Set();
const life = bindLifecycle(() => conn);

async function main() {
  // The catalogue and the lesson are asked for at once: on a slow link each is a round trip.
  const words = setLanguage(preferredLanguage());
  const fragment = decodeURIComponent(location.hash.slice(1));
  const guest = !fragment || fragment.startsWith('code=');
  const me = guest ? null : early || askMe(fragment);
  await words;
  bindLanguageSelect(byId('lang'));
  onLanguage(renderAll);
  onLanguage(renderChip);
  bindControls();
  bindAttention();
  view.bindEnlarge();
  view.renderMedia(receiveMode());
  onReceiveMode(view.renderMedia);
  if (guest) askGuest(fragment.slice(5));
  else findLesson(fragment, me);
}

// -- finding the lesson ----------------------------------------------------------------

function askGuest(code) {
  byId('guest-code').value = code;
  byId('guest-name').value = stored(NAME_KEY) || '';
  view.showEntry('', true);
}

function askMe(token) {
  return fetch('/api/me', { headers: { Authorization: `Bearer ${token}` } });
}

/** Ask the server which live lesson this personal link is for; wait if none has started. */
async function findLesson(token, asked = askMe(token)) {
  let response;
  try {
    response = await asked;
  } catch {
    view.showEntry(t('conn.offline'));
    setTimeout(() => findLesson(token), POLL_MS);
    return;
  }
  const data = await response.json();
  const serverDate = Date.parse(response.headers.get('Date') || '');
  if (serverDate) state.skew = Date.now() - serverDate - 500; // whole seconds: take the middle
  if (!response.ok) return view.showEntry(errorText(data.error));
  if (data.role === 'teacher') return location.replace(`/teach#${token}`);
  if (!data.lessons.length) {
    view.showEntry(t('lesson.not_started', { name: data.name }));
    setTimeout(() => findLesson(token), POLL_MS);
    return;
  }
  import('./student_media.js'); // fetched while the socket connects; used once joined
  connect({ token }, data.lessons[0].id);
}

function connect(auth, lessonId) {
  view.showEntry(t('conn.connecting'));
  state.over = false;
  const c = (conn = new LessonConnection({ auth, lessonId }));
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
  const page = { learners: () => state.learners, skew: () => state.skew, notice };
  bindPolls(conn, page);
  bindQuiz(conn, page);
  conn.start();
  life.take();
  renderBanner(byId('banner'), conn.state);
}

// -- what the server says ---------------------------------------------------------------

function welcome(ack) {
  if (ack.waiting) {
    state.waiting = true;
    view.showLesson(true);
    return;
  }
  state.waiting = false;
  const snap = ack.snapshot;
  const you = snap.you;
  if (ack.primary) {
    state.primary = you.id;
    state.lesson = snap.lesson;
    state.count = snap.present_learners ?? snap.present_count; // the teacher is not counted
    state.chatLocked = snap.lesson.chat_locked;
    state.chat = new Map(snap.chat.map((m) => [m.id, m]));
    state.learners = new Map();
    setOpenCheck(snap.open_check, null);
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
}

/** Video and sound: their code loads once the student is in (not part of the first load). */
function startMedia(ack) {
  if (mediaFor === conn) return;
  const bound = (mediaFor = conn);
  const page = {
    learners: () => state.learners,
    primary: () => state.primary,
    notice,
    renderMedia: () => view.renderMedia(receiveMode()),
  };
  import('./student_media.js').then((m) => m.bindStudentMedia(bound, page, ack));
}

const HANDLERS = {
  count: (d) => {
    state.count = d.learners ?? d.present;
    if (!state.over) view.renderHeader(state);
  },
  chat: (m) => {
    state.chat.set(m.id, m);
    renderMessages();
    if (!state.learners.has(m.author_id)) chatArrived(m);
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
  check_started: (d) => {
    for (const l of state.learners.values()) {
      if (!l.checks.some((c) => c.check_id === d.check_id)) {
        l.checks.push({ check_id: d.check_id, result: 'open', response_ms: null });
      }
    }
    setOpenCheck(d, d.started_at);
    announce(t('check.prompt'));
    if (navigator.vibrate) navigator.vibrate(200);
    if (document.visibilityState === 'hidden') cue(t('check.prompt'), t('check.notify'));
    renderAll();
  },
  check_closed: (d) => {
    for (const l of state.learners.values()) {
      for (const c of l.checks)
        if (c.check_id === d.check_id && c.result === 'open') c.result = 'missed';
    }
    if (state.openCheck && state.openCheck.check_id === d.check_id) setOpenCheck(null, null);
    renderAll();
  },
  removed: (d) => gone(d.participant_id, d.reason),
  replaced: (d) => gone(d.participant_id, 'replaced'),
  revoked: (d) => gone(d.participant_id, 'revoked'), // the organizer's new link or erasure
  lesson_ended: () => over(t('end.lesson_ended')),
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
  setOpenCheck(null, null);
  view.showEntry(message);
}

// -- attendance checks ------------------------------------------------------------------

function setOpenCheck(check, startedAt) {
  clearInterval(ticker);
  state.openCheck = check;
  if (!check) return;
  state.localDeadline = check.deadline + state.skew;
  state.windowMs = startedAt ? check.deadline - startedAt : state.localDeadline - Date.now();
  ticker = setInterval(() => view.tickCheck(state), 250);
}

async function answer(pid) {
  const check = state.openCheck;
  if (!check) return;
  state.answering.add(pid);
  view.renderCheck(state, answer);
  const ack = await conn.answerCheck(check.check_id, pid);
  state.answering.delete(pid);
  const l = state.learners.get(pid);
  const mine = l && l.checks.find((c) => c.check_id === check.check_id);
  if (ack.ok && mine) Object.assign(mine, { result: 'answered', response_ms: ack.response_ms });
  else if (!ack.ok) notice(errorText(ack.error));
  renderAll();
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

function notice(text) {
  flash(byId('notice'), text);
}


// -- controls -----------------------------------------------------------------------------

function bindControls() {
  byId('guest-form').addEventListener('submit', (event) => {
    event.preventDefault();
    const name = byId('guest-name').value.trim();
    const code = byId('guest-code').value.trim().toUpperCase();
    if (!name || !code) return;
    store(NAME_KEY, name);
    connect({ guest_code: code, name }, null);
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
    if (event.target.value === 'audio') askToNotify(); // checks reach a locked phone
  });
  armCue();
  bindLearnerAdd(() => conn);
}

function stored(key) {
  try {
    return localStorage.getItem(key);
  } catch {
    return null;
  }
}

function store(key, value) {
  try {
    localStorage.setItem(key, value);
  } catch {
    /* private mode */
  }
}

main();
