/**
 * The teacher page (/teach#<teacher token>): the teacher's lessons over REST (create, start,
 * end), then the live lesson on a LessonConnection: chat moderation, attendance checks, the
 * join QR; its people (roster, hands, waiting room) are in teacher_roster.js. Page logic only.
 */
import { LessonConnection } from './protocol.js';
import { Rest } from './rest.js';
import { byId, flash, showBlob } from './dom.js';
import {
  t,
  errorText,
  setLanguage,
  preferredLanguage,
  bindLanguageSelect,
  onLanguage,
  formatNumber,
} from './i18n.js';
import { renderChat } from './chat_view.js';
import { renderBanner } from './banner.js';
import { bindLifecycle } from './lifecycle.js';
import * as view from './teacher_view.js';
import { bindTeacherPolls } from './teacher_polls.js';
import { bindTeacherMedia } from './teacher_media.js';
import { bindEnded, isEnded, leaveEnded, showEnded, renderEnded } from './teacher_ended.js';
import { people, bindRoster, followPeople, welcomePeople, renderPeople } from './teacher_roster.js';
import { bindRecording, renderRecording, setRecording } from './teacher_recording.js';

const token = decodeURIComponent(location.hash.slice(1));
const rest = new Rest(token);
const state = {
  me: null,
  courses: [],
  lessons: new Map(),
  info: null,
  chat: new Map(),
  chatLocked: false,
  tallies: new Map(),
  replyTo: null,
  count: 0,
  skew: 0,
};
/** @type {LessonConnection|null} */
let conn = null;
let ticker = 0;
const life = bindLifecycle(() => conn);

async function main() {
  await setLanguage(preferredLanguage());
  bindLanguageSelect(byId('lang'));
  onLanguage(renderAll);
  bindControls();
  bindRoster({ conn: () => conn, notice });
  bindRecording(() => conn, notice);
  bindEnded({ rest, notice }, () => showHome());
  if (!token) return entry(t('error.auth-required'));
  try {
    state.me = await rest.get('/api/me');
  } catch (err) {
    return entry(errorText(err));
  }
  if (state.me.role !== 'teacher') return location.replace(`/join#${token}`);
  await showHome();
}

function entry(message) {
  for (const id of ['home', 'live', 'ended']) byId(id).hidden = true;
  byId('entry').hidden = false;
  byId('entry-message').textContent = message;
}

// -- the lesson list ----------------------------------------------------------------------

async function showHome() {
  state.info = null;
  leaveEnded();
  byId('live').hidden = true;
  byId('ended').hidden = true;
  byId('count').hidden = true;
  byId('rec').hidden = true;
  byId('waiting-count').hidden = true;
  byId('title').textContent = t('page.title');
  await loadLessons();
  byId('home').hidden = false;
  renderAll();
}

async function loadLessons() {
  try {
    state.courses = await rest.get('/api/courses');
    const lists = await Promise.all(
      state.courses.map((c) => rest.get(`/api/courses/${c.id}/lessons`)),
    );
    state.lessons = new Map(state.courses.map((c, i) => [c.id, lists[i]]));
  } catch (err) {
    notice(errorText(err));
  }
}

async function createLesson(event) {
  event.preventDefault();
  const body = { title: byId('new-title').value.trim(), allow_guests: byId('new-guests').checked };
  if (!body.title) return;
  try {
    await rest.post(`/api/courses/${byId('new-course').value}/lessons`, body);
    byId('new-title').value = '';
    await loadLessons();
    renderAll();
  } catch (err) {
    notice(errorText(err));
  }
}

// -- the live lesson ----------------------------------------------------------------------

async function openLesson(lesson, startFirst) {
  try {
    if (startFirst) await rest.post(`/api/lessons/${lesson.id}/start`);
    state.info = await rest.get(`/api/lessons/${lesson.id}`);
  } catch (err) {
    return notice(errorText(err));
  }
  byId('home').hidden = true;
  byId('live').hidden = false;
  loadQr();
  // This connection, not the page's current one: it still reports after the page let go.
  const c = (conn = new LessonConnection({ auth: { token }, lessonId: lesson.id }));
  life.follow(c);
  followPeople(c, rest, state.info.course_id);
  c.on('state', () => renderBanner(byId('banner'), c.state, c.queue.length));
  conn.on('welcome', welcome);
  conn.on('server_time', (ms) => {
    if (ms) state.skew = Date.now() - ms;
  });
  for (const [name, fn] of Object.entries(HANDLERS)) conn.on(name, fn);
  bindTeacherPolls(conn, { notice });
  bindTeacherMedia(conn, { notice, participants: () => people.participants });
  conn.start();
  life.take();
  clearInterval(ticker);
  ticker = setInterval(() => view.renderChecks(tallies(), state.skew), 500);
  renderAll();
}

function loadQr() {
  if (!state.info.allow_guests) return;
  rest.get(`/api/lessons/${state.info.id}/qr.svg`, 'blob').then(
    (b) => showBlob(byId('qr'), b),
    () => {},
  );
}

/** A new guest code: whoever has the old one (a photo of the QR code) can no longer enter. */
async function rotateCode() {
  if (!state.info || !confirm(t('teach.confirm_rotate'))) return;
  try {
    state.info = await rest.post(`/api/lessons/${state.info.id}/rotate-code`);
  } catch (err) {
    return notice(errorText(err));
  }
  view.renderLessonInfo(state.info, conn && conn.state);
  loadQr();
}

function welcome(ack) {
  const snap = ack.snapshot;
  welcomePeople(snap);
  state.chat = new Map(snap.chat.map((m) => [m.id, m]));
  state.chatLocked = snap.lesson.chat_locked;
  byId('guests-open').checked = snap.lesson.guests_open;
  state.tallies = new Map(snap.check_tallies.map((x) => [x.check_id, x]));
  state.count = snap.present_count;
  setRecording(snap.recording, notice);
  renderAll();
}

const HANDLERS = {
  recording: (r) => setRecording(r, notice, true),
  count: (d) => {
    state.count = d.present;
    renderCount();
  },
  chat: (m) => {
    state.chat.set(m.id, m);
    renderMessages();
  },
  chat_deleted: (d) => {
    state.chat.delete(d.id);
    renderMessages();
  },
  guest_entry: (d) => {
    byId('guests-open').checked = d.open;
  },
  chat_locked: (d) => {
    state.chatLocked = d.locked;
    byId('chat-lock').checked = d.locked;
  },
  check_tally: (x) => {
    state.tallies.set(x.check_id, x);
    view.renderChecks(tallies(), state.skew);
  },
  queue: () => renderMessages(),
  sent: (item) => {
    if (item.status === 'failed') notice(errorText(item.ack.error));
  },
  lesson_ended: () => endLesson(),
  // The connection has finished already (devices off); this says why.
  revoked: (d) =>
    closeLesson(t(d.reason === 'course-removed' ? 'end.course_removed' : 'end.revoked')),
  finished: ({ reason, error }) => {
    if (reason === 'refused') closeLesson(errorText(error));
    else if (reason === 'replaced') closeLesson(t('end.replaced'));
  },
};

async function closeLesson(message) {
  clearInterval(ticker);
  if (conn && !conn.finished) conn.leave();
  conn = null;
  if (message) notice(message);
  await showHome();
}

/** The lesson is over (ended here or elsewhere): let go of it, show who came. */
async function endLesson() {
  const info = state.info;
  clearInterval(ticker);
  if (conn && !conn.finished) conn.leave();
  conn = null;
  state.replyTo = null;
  byId('live').hidden = true;
  byId('count').hidden = true;
  byId('waiting-count').hidden = true;
  byId('notice').hidden = true;
  await showEnded(info);
}

/** What the buttons of the lesson list do. */
function lessonAct(action, lesson) {
  return openLesson(lesson, action === 'start');
}

async function deleteMessage(id) {
  const ack = await conn.call('chat_delete', { message_id: id });
  if (!ack.ok) notice(errorText(ack.error));
}

// -- rendering ------------------------------------------------------------------------------

function tallies() {
  return [...state.tallies.values()].sort((a, b) => a.check_id - b.check_id);
}

function renderAll() {
  byId('hello').textContent = state.me ? t('teach.hello', { name: state.me.name }) : '';
  view.renderLessons(state.courses, state.lessons, lessonAct);
  renderEnded();
  if (!state.info || isEnded()) return;
  view.renderLessonInfo(state.info, conn && conn.state);
  byId('chat-lock').checked = state.chatLocked;
  renderCount();
  renderRecording();
  renderPeople();
  renderMessages();
  view.renderChecks(tallies(), state.skew);
}

function renderCount() {
  byId('count').textContent = t('lesson.present', { n: formatNumber(state.count) });
}

function renderMessages() {
  const own = conn ? conn.queue.filter((i) => i.kind === 'chat') : [];
  const mine = new Set(state.me ? [state.me.id] : []);
  const onDelete = (id) => deleteMessage(id);
  const onReply = (m) => replyTo({ id: m.author_id, name: m.author_name });
  const nameOf = (id) => (people.participants.get(id) || { name: '' }).name;
  const options = { mine, onDelete, onReply, nameOf };
  renderChat(byId('chat-list'), [...state.chat.values()], own, options);
  view.renderReplyTo(state.replyTo);
}

/** The next message goes privately to this learner (null: to everyone again). */
function replyTo(who) {
  state.replyTo = who;
  view.renderReplyTo(who);
  if (who) byId('chat-text').focus();
}

function notice(text) {
  flash(byId('notice'), text);
}

// -- controls -------------------------------------------------------------------------------

function bindControls() {
  byId('new-lesson').addEventListener('submit', createLesson);
  byId('back').addEventListener('click', () => closeLesson(''));
  byId('end').addEventListener('click', async () => {
    if (!state.info || !confirm(t('teach.confirm_end'))) return;
    try {
      await rest.post(`/api/lessons/${state.info.id}/end`);
    } catch (err) {
      notice(errorText(err));
    }
  });
  byId('check-start').addEventListener('click', async () => {
    const ack = await conn.call('check_start', { window_s: Number(byId('check-window').value) });
    if (!ack.ok) notice(errorText(ack.error));
  });
  byId('check-close').addEventListener('click', async () => {
    const open = tallies().find((x) => !x.closed);
    if (open) await conn.call('check_close', { check_id: open.check_id });
  });
  byId('chat-lock').addEventListener('change', async (event) => {
    const ack = await conn.call('chat_lock', { locked: event.target.checked });
    if (!ack.ok) notice(errorText(ack.error));
  });
  byId('guests-open').addEventListener('change', async (event) => {
    const ack = await conn.call('guest_entry', { open: event.target.checked });
    if (!ack.ok) notice(errorText(ack.error));
  });
  byId('rotate-code').addEventListener('click', rotateCode);
  byId('chat-form').addEventListener('submit', (event) => {
    event.preventDefault();
    const input = byId('chat-text');
    const text = input.value.trim();
    if (!text || !conn) return;
    if (state.replyTo) conn.sendChat(text, 'participant', null, state.replyTo.id);
    else conn.sendChat(text, 'all');
    input.value = '';
    replyTo(null);
  });
  byId('reply-cancel').addEventListener('click', () => replyTo(null));
}

main();
