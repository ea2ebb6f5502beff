/**
 * Quizzes on the student page. Each learner on this phone has a run of their own: their own
 * question and option order (answers go out as indexes in THAT order; the server maps them),
 * their own deadline (the server's; time back after a dropped connection comes as
 * `quiz_extended`), and their own score once the teacher publishes. Page logic only.
 */
import { byId } from './dom.js';
import { errorText, onLanguage, t } from './i18n.js';
import { RETRY } from './polls.js';

const TICK_MS = 250;

/**
 * @param {import('./protocol.js').LessonConnection} conn
 * @param {{learners: () => Map<string, {id: string, name: string}>, skew: () => number,
 *          notice: (text: string) => void}} page
 *   skew: this phone's clock minus the server's, in ms (student.js estimates it)
 */
export function bindQuiz(conn, page) {
  /** @type {Map<number, {info: any, runs: Map<string, import('./quiz_view.js').Run>}>} */
  const quizzes = new Map();
  const hidden = new Set();
  let who = null;
  let ticker = 0;
  /** quiz_view.js, loaded with the first quiz (many lessons have none: the page stays light) */
  let view = null;
  let loading = null;

  /** @returns {import('./quiz_view.js').Run} */
  function runOf(quiz, pid) {
    if (!quiz.runs.has(pid)) {
      quiz.runs.set(pid, {
        questions: new Map(),
        current: null,
        answers: new Map(),
        drafts: new Map(),
        over: new Set(),
        deadline: quiz.info.deadline ?? null,
        done: false,
        fetching: false,
        error: null,
        result: null,
      });
    }
    return quiz.runs.get(pid);
  }

  function learners() {
    return [...page.learners().values()];
  }

  function isDone(quiz, pid) {
    const run = quiz.runs.get(pid);
    if (!run) return false;
    if (quiz.info.mode === 'per_question') return run.done;
    return run.questions.size > 0 && [...run.questions.keys()].every((p) => sent(run, p));
  }

  const sent = (run, position) => {
    const mine = run.answers.get(position);
    return Boolean(mine && mine.status === 'sent');
  };

  function render() {
    if (!view) {
      if (quizzes.size && !loading) {
        loading = import('./quiz_view.js')
          .then(
            (module) => {
              view = module;
              render();
            },
            () => {},
          ) // offline: tried again with the next event or the next join
          .finally(() => (loading = null));
      }
      return;
    }
    const people = learners();
    if (!people.some((l) => l.id === who)) who = people.length ? people[0].id : null;
    const all = [...quizzes.values()].sort((a, b) => b.info.quiz_id - a.info.quiz_id);
    const newest = all[0];
    const cards = all
      .filter((q) => !hidden.has(q.info.quiz_id) && (!q.info.closed || q === newest))
      .map((quiz) => ({
        info: quiz.info,
        run: who ? runOf(quiz, who) : null,
        who,
        learners: people,
        isDone: (pid) => isDone(quiz, pid),
        scores: people
          .map((l) => ({ name: l.name, result: quiz.runs.get(l.id)?.result }))
          .filter((x) => x.result),
        skew: page.skew(),
      }));
    view.renderQuizzes(byId('quizzes'), cards, { answer, draft, next, pick, hide });
    clearInterval(ticker);
    if (cards.some((c) => !c.info.closed)) {
      ticker = setInterval(() => {
        if (view.tickQuizzes(byId('quizzes'))) render();
      }, TICK_MS);
    }
  }

  const withLearner = (quiz, pid, more = {}) => ({
    quiz_id: quiz.info.quiz_id,
    ...more,
    learner: pid,
  });

  /** Ask for this learner's questions: all of them (whole quiz) or the next one. */
  async function fetchQuestions(quiz, pid) {
    const run = runOf(quiz, pid);
    if (run.fetching) return;
    run.fetching = true;
    render();
    const ack = await conn.call('quiz_next', withLearner(quiz, pid));
    run.fetching = false;
    const seenAt = Date.now();
    if (ack.ok) {
      run.error = null;
      for (const q of ack.questions || (ack.question ? [ack.question] : [])) {
        run.questions.set(q.position, { ...q, seenAt });
        run.current = q.position;
      }
      if (ack.done) run.done = true;
    } else if (ack.error.code === 'quiz-closed') {
      quiz.info.closed = true;
    } else if (!RETRY.includes(ack.error.code)) {
      run.error = errorText(ack.error);
    }
    render();
  }

  async function answer(info, q, value, pid = who) {
    const quiz = quizzes.get(info.quiz_id);
    const run = runOf(quiz, pid);
    run.answers.set(q.position, { answer: value, status: 'sending' });
    render();
    const ack = await conn.call(
      'quiz_answer',
      withLearner(quiz, pid, { position: q.position, answer: value }),
    );
    const code = ack.ok ? null : ack.error.code;
    if (ack.ok) {
      run.answers.set(q.position, { answer: value, status: 'sent' });
      run.drafts.delete(q.position);
    } else if (RETRY.includes(code)) {
      run.answers.set(q.position, { answer: value, status: 'pending' });
    } else if (code === 'already-answered') {
      run.answers.set(q.position, { status: 'sent' });
    } else {
      run.answers.set(q.position, { answer: value, status: 'failed', error: errorText(ack.error) });
      if (code === 'quiz-time-over') run.over.add(info.mode === 'whole' ? 0 : q.position);
      if (code === 'quiz-closed') quiz.info.closed = true;
    }
    render();
  }

  function draft(info, q, value) {
    runOf(quizzes.get(info.quiz_id), who).drafts.set(q.position, value);
    if (q.kind === 'multiple') render();
  }

  function next(info) {
    fetchQuestions(quizzes.get(info.quiz_id), who);
  }

  function pick(pid) {
    who = pid;
    const quiz = [...quizzes.values()].find((q) => !q.info.closed);
    if (quiz && quiz.info.mode === 'whole' && !runOf(quiz, pid).questions.size) {
      fetchQuestions(quiz, pid);
    }
    render();
  }

  function hide(info) {
    hidden.add(info.quiz_id);
    render();
  }

  async function fetchResult(quiz, pid) {
    const run = runOf(quiz, pid);
    const ack = await conn.call('quiz_result', withLearner(quiz, pid));
    if (ack.ok) run.result = ack;
    render();
  }

  /** What a learner's snapshot (or a live start) says; ask for questions or results. */
  function learnQuiz(info, pid, live) {
    let quiz = quizzes.get(info.quiz_id);
    if (!quiz) {
      quiz = { info: { ...info }, runs: new Map() };
      quizzes.set(info.quiz_id, quiz);
    } else {
      Object.assign(quiz.info, { closed: info.closed, published: info.published });
    }
    const run = runOf(quiz, pid);
    if (info.deadline) run.deadline = info.deadline; // this learner's, time back included
    if (quiz.info.published && !run.result) fetchResult(quiz, pid);
    else if (!quiz.info.closed && quiz.info.mode === 'whole' && !run.questions.size) {
      fetchQuestions(quiz, pid);
    }
    for (const [position, mine] of run.answers) {
      const q = run.questions.get(position);
      if (mine.status === 'pending' && q && !live) answer(quiz.info, q, mine.answer, pid);
    }
  }

  function fromSnapshot(snap) {
    for (const info of snap.quizzes) learnQuiz(info, snap.you.id, false);
    render();
  }

  conn.on('welcome', (ack) => {
    if (!ack.waiting) fromSnapshot(ack.snapshot);
  });
  conn.on('admitted', fromSnapshot);
  conn.on('quiz_started', (info) => {
    hidden.clear();
    for (const l of learners()) learnQuiz(info, l.id, true);
    render();
    if (navigator.vibrate) navigator.vibrate(120);
  });
  conn.on('quiz_extended', (d) => {
    const quiz = quizzes.get(d.quiz_id);
    if (!quiz) return;
    const run = runOf(quiz, d.participant_id);
    if (d.position) {
      const q = run.questions.get(d.position);
      if (q) q.deadline = d.deadline;
    } else run.deadline = d.deadline;
    run.over.delete(d.position);
    page.notice(t('quiz.extended', { s: Math.round(d.extra_ms / 1000) }));
    render();
  });
  conn.on('quiz_closed', (d) => {
    const quiz = quizzes.get(d.quiz_id);
    if (quiz) quiz.info.closed = true;
    render();
  });
  conn.on('quiz_published', (d) => {
    const quiz = quizzes.get(d.quiz_id);
    if (!quiz) return;
    Object.assign(quiz.info, { closed: true, published: true });
    hidden.delete(d.quiz_id);
    for (const l of learners()) fetchResult(quiz, l.id);
    render();
  });
  for (const name of ['removed', 'replaced']) conn.on(name, () => render());
  onLanguage(render);
}
