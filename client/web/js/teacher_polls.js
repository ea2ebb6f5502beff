/**
 * Polls and quizzes on the teacher page: open, close and publish polls with their live
 * tally; start, close and publish quizzes with their live tally and results. Page logic
 * only: the rendering is poll_editor.js's and quiz_editor.js's.
 */
import { byId } from './dom.js';
import { t, errorText, onLanguage } from './i18n.js';
import * as polls from './poll_editor.js';
import * as quizzes from './quiz_editor.js';

/** @type {import('./protocol.js').LessonConnection|null} */
let conn = null;
let notice = (text) => console.warn(text);
/** @type {Map<number, import('./poll_editor.js').PollEntry>} */
const pollEntries = new Map();
/** @type {Map<number, import('./quiz_editor.js').QuizEntry>} */
const quizEntries = new Map();
/** Question texts of the quizzes started from this page (the tally names questions by id). */
const quizTexts = new Map();
let built = false;

/**
 * Follow a lesson connection's polls and quizzes (called for each lesson opened).
 * @param {import('./protocol.js').LessonConnection} connection
 * @param {{notice: (text: string) => void}} page
 */
export function bindTeacherPolls(connection, page) {
  conn = connection;
  notice = page.notice;
  if (!built) {
    built = true;
    polls.buildPollForm(byId('poll-card'), openPoll);
    quizzes.buildQuizForm(byId('quiz-card'), startQuiz);
    onLanguage(() => {
      quizzes.relabelQuizForm();
      render();
    });
  }
  pollEntries.clear();
  quizEntries.clear();
  render();
  connection.on('welcome', (ack) => {
    if (conn === connection) welcome(ack.snapshot);
  });
  for (const [name, fn] of Object.entries(HANDLERS)) {
    connection.on(name, (data) => {
      if (conn === connection) fn(data);
    });
  }
}

function welcome(snap) {
  pollEntries.clear();
  for (const tally of snap.poll_tallies || []) pollEntry(tally.poll_id).tally = tally;
  for (const p of snap.polls || []) {
    const e = pollEntry(p.poll_id);
    e.poll = p;
    e.closed = p.closed || Boolean(p.results);
    if (p.results) Object.assign(e, { published: true, withNames: Boolean(p.results.names) });
    if (p.results) e.tally = p.results;
  }
  // Polls the snapshot no longer lists are closed and unpublished.
  for (const e of pollEntries.values()) if (!e.poll) e.closed = true;
  const before = new Map(quizEntries);
  quizEntries.clear();
  for (const info of snap.quizzes || []) {
    const e = quizEntry(info.quiz_id);
    e.info = info;
    e.results = before.has(info.quiz_id) ? before.get(info.quiz_id).results : null;
  }
  for (const tally of snap.quiz_tallies || []) quizEntry(tally.quiz_id).tally = tally;
  render();
}

function pollEntry(pollId) {
  if (!pollEntries.has(pollId)) {
    pollEntries.set(pollId, {
      poll_id: pollId,
      poll: null,
      tally: null,
      closed: false,
      published: false,
      withNames: false,
    });
  }
  return pollEntries.get(pollId);
}

function quizEntry(quizId) {
  if (!quizEntries.has(quizId)) {
    quizEntries.set(quizId, {
      quiz_id: quizId,
      info: { quiz_id: quizId, title: '', closed: false, published: false },
      tally: null,
      results: null,
      texts: null,
    });
  }
  const e = quizEntries.get(quizId);
  e.texts = quizTexts.get(`${conn && conn.lessonId}/${quizId}`) || e.texts;
  return e;
}

const HANDLERS = {
  poll_opened: (p) => {
    const e = pollEntry(p.poll_id);
    e.poll = p;
    render();
  },
  poll_tally: (tally) => {
    const e = pollEntry(tally.poll_id);
    e.tally = e.published ? { ...tally, names: e.tally && e.tally.names } : tally;
    render();
  },
  poll_closed: (d) => {
    pollEntry(d.poll_id).closed = true;
    render();
  },
  poll_results: (tally) => {
    Object.assign(pollEntry(tally.poll_id), {
      tally,
      closed: true,
      published: true,
      withNames: Boolean(tally.names),
    });
    render();
  },
  quiz_started: (info) => {
    quizEntry(info.quiz_id).info = info;
    render();
  },
  quiz_tally: (tally) => {
    const e = quizEntry(tally.quiz_id);
    e.tally = tally;
    e.info.closed = e.info.closed || tally.closed;
    render();
    if (e.results) results(e); // the table on screen follows the answers
  },
  quiz_closed: (d) => {
    quizEntry(d.quiz_id).info.closed = true;
    render();
  },
  quiz_published: (d) => {
    const e = quizEntry(d.quiz_id);
    Object.assign(e.info, { closed: true, published: true });
    render();
    results(e);
  },
};

function render() {
  const newest = (a, b) => b[0] - a[0];
  polls.renderPollList(
    [...pollEntries.entries()].sort(newest).map(([, e]) => e),
    pollAction,
  );
  quizzes.renderQuizList(
    [...quizEntries.entries()].sort(newest).map(([, e]) => e),
    quizAction,
  );
}

// -- what the teacher's buttons do --------------------------------------------------------

async function openPoll() {
  const { payload, error } = polls.readPollForm();
  byId('poll-error').textContent = error ? t(error) : '';
  if (!payload || !conn) return;
  const ack = await conn.call('poll_open', payload);
  if (ack.ok) polls.resetPollForm();
  else byId('poll-error').textContent = errorText(ack.error);
}

async function pollAction(action, e) {
  const ack =
    action === 'close'
      ? await conn.call('poll_close', { poll_id: e.poll_id })
      : await conn.call('poll_publish', {
          poll_id: e.poll_id,
          with_names: action === 'publish-names',
        });
  if (!ack.ok) notice(errorText(ack.error));
}

async function startQuiz() {
  const { payload, error, vars } = quizzes.readQuizForm();
  byId('quiz-error').textContent = error ? t(error, vars) : '';
  if (!payload || !conn) return;
  const ack = await conn.call('quiz_start', payload);
  if (!ack.ok) {
    byId('quiz-error').textContent = errorText(ack.error);
    return;
  }
  const texts = payload.questions.map((q) => q.text);
  quizTexts.set(`${conn.lessonId}/${ack.quiz_id}`, texts);
  quizEntry(ack.quiz_id).texts = texts;
  quizzes.resetQuizForm();
  render();
}

async function quizAction(action, e) {
  if (action === 'results') return results(e);
  const ack =
    action === 'close'
      ? await conn.call('quiz_close', { quiz_id: e.quiz_id })
      : await conn.call('quiz_publish', { quiz_id: e.quiz_id });
  if (!ack.ok) notice(errorText(ack.error));
}

/** The teacher's results (every learner's score, each question's statistics), any time. */
async function results(e) {
  const ack = await conn.call('quiz_result', { quiz_id: e.quiz_id });
  if (!ack.ok) return notice(errorText(ack.error));
  e.results = ack;
  render();
}
