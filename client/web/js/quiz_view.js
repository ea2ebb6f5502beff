/**
 * The student's quiz card: the learner's own questions in their own order, big options to
 * tap, a countdown to the learner's deadline (the server's, shown on this phone's clock), and
 * the score once published. Rendering only, no socket code.
 */
import { h, fill } from './dom.js';
import { t, formatNumber } from './i18n.js';
import { choiceButtons, learnerTabs } from './poll_view.js';

/**
 * @typedef {{position: number, kind: 'single'|'multiple'|'number', text: string,
 *            options: string[], points: number, deadline: number, seenAt: number}} Question
 * @typedef {{answer?: any, status: 'sending'|'sent'|'pending'|'failed', error?: string}} Mine
 * @typedef {{questions: Map<number, Question>, current: number|null,
 *            answers: Map<number, Mine>, drafts: Map<number, any>, over: Set<number>,
 *            deadline: number|null, done: boolean, fetching: boolean, error: string|null,
 *            result: {score: number, max_score: number}|null}} Run
 * @typedef {{quiz_id: number, title: string, mode: 'whole'|'per_question', questions: number,
 *            started_at: number, closed: boolean, published: boolean}} QuizInfo
 * @typedef {{info: QuizInfo, run: Run|null, who: string|null,
 *            learners: {id: string, name: string}[], isDone: (pid: string) => boolean,
 *            scores: {name: string, result: any}[], skew: number}} QuizCard
 * @typedef {{answer: (quiz: QuizInfo, q: Question, value: any) => void,
 *            draft: (quiz: QuizInfo, q: Question, value: any) => void,
 *            next: (quiz: QuizInfo) => void, pick: (pid: string) => void,
 *            hide: (quiz: QuizInfo) => void}} QuizActions
 */

/** @param {HTMLElement} box @param {QuizCard[]} cards @param {QuizActions} on */
export function renderQuizzes(box, cards, on) {
  box.hidden = !cards.length;
  fill(box, ...cards.map((c) => quizCard(c, on)));
  tickQuizzes(box);
}

function quizCard(c, on) {
  const { info, run } = c;
  const open = !info.closed;
  return h(
    'article',
    { class: 'card quiz', 'data-quiz': info.quiz_id, 'data-mode': info.mode },
    h(
      'div',
      { class: 'row kicker' },
      h('strong', { text: t('quiz.heading') }),
      h('span', { class: 'tag', text: t('quiz.questions', { n: formatNumber(info.questions) }) }),
      open
        ? null
        : h('button', {
            type: 'button',
            class: 'link',
            text: t('poll.hide'),
            onclick: () => on.hide(info),
          }),
    ),
    h('p', { class: 'question', text: info.title }),
    open && c.learners.length > 1 ? learnerTabs(c.learners, c.who, c.isDone, on.pick) : null,
    open && run ? body(c, on) : null,
    open ? null : closedPart(c),
  );
}

function body(c, on) {
  const { info, run } = c;
  if (run.error) return h('p', { class: 'error', role: 'alert', text: run.error });
  if (info.mode === 'whole') {
    if (!run.questions.size) return h('p', { class: 'muted', text: t('quiz.loading') });
    const from = info.started_at + c.skew;
    const over = run.over.has(0) || isPast(run.deadline, c.skew);
    const list = [...run.questions.values()].sort((a, b) => a.position - b.position);
    return h(
      'div',
      { class: 'stack' },
      over ? overNote() : countdown(run.deadline + c.skew, from),
      h('ol', { class: 'plain questions' }, ...list.map((q) => question(c, q, over, on))),
      c.isDone(c.who) ? h('p', { class: 'done', text: t('quiz.done') }) : null,
    );
  }
  if (run.done) return h('p', { class: 'done', text: t('quiz.done') });
  const q = run.current ? run.questions.get(run.current) : null;
  if (!q) {
    return h(
      'div',
      { class: 'stack' },
      h('p', { class: 'muted', text: t('quiz.one_at_a_time') }),
      nextButton(info, run, 'quiz.start', on),
    );
  }
  const over = run.over.has(q.position) || isPast(q.deadline, c.skew);
  const mine = run.answers.get(q.position);
  const answered = Boolean(mine && mine.status === 'sent');
  return h(
    'div',
    { class: 'stack' },
    over ? overNote() : answered ? null : countdown(q.deadline + c.skew, q.seenAt),
    h('ol', { class: 'plain questions' }, question(c, q, over || answered, on)),
    over || answered ? nextButton(info, run, 'quiz.next', on) : null,
  );
}

function nextButton(info, run, key, on) {
  return h('button', {
    type: 'button',
    class: 'primary big',
    'data-next': '',
    disabled: run.fetching,
    text: t(key),
    onclick: () => on.next(info),
  });
}

function question(c, q, locked, on) {
  const mine = c.run.answers.get(q.position);
  const sending = Boolean(mine && mine.status === 'sending');
  const given = mine && mine.status !== 'failed' ? mine.answer : undefined;
  const draft = c.run.drafts.get(q.position);
  const quiz = c.info;
  let control;
  if (q.kind === 'single') {
    const tap = (i) => on.answer(quiz, q, i);
    control = choiceButtons(q.options, (i) => given === i, locked || sending, tap);
  } else if (q.kind === 'multiple') {
    const picked = draft || new Set(Array.isArray(given) ? given : []);
    const toggle = (i) => {
      const next = new Set(picked);
      if (next.has(i)) next.delete(i);
      else next.add(i);
      on.draft(quiz, q, next);
    };
    control = h(
      'div',
      { class: 'stack' },
      choiceButtons(q.options, (i) => picked.has(i), locked || sending, toggle, true),
      h('button', {
        type: 'button',
        class: 'primary',
        'data-save': '',
        text: t('quiz.save'),
        disabled: locked || sending || !picked.size,
        onclick: () =>
          on.answer(
            quiz,
            q,
            [...picked].sort((a, b) => a - b),
          ),
      }),
    );
  } else {
    control = numberAnswer(quiz, q, given, draft, locked || sending, on);
  }
  return h(
    'li',
    { class: 'question-block', 'data-position': q.position },
    h(
      'p',
      { class: 'question-text' },
      h('span', { class: 'muted', text: `${t('quiz.question_n', { n: q.position })} · ` }),
      h('span', { 'data-text': '', text: q.text }),
    ),
    control,
    mine ? answerStatus(mine) : null,
  );
}

function numberAnswer(quiz, q, given, draft, locked, on) {
  const input = h('input', {
    type: 'number',
    inputmode: 'decimal',
    step: 'any',
    autocomplete: 'off',
    value: draft ?? (given === undefined ? '' : String(given)),
    disabled: locked,
    placeholder: t('quiz.number_placeholder'),
    'aria-label': t('quiz.number_placeholder'),
    oninput: (event) => on.draft(quiz, q, event.target.value),
  });
  const submit = (event) => {
    event.preventDefault();
    if (input.value.trim() !== '') on.answer(quiz, q, Number(input.value));
  };
  return h(
    'form',
    { class: 'row', onsubmit: submit },
    input,
    h('button', { type: 'submit', class: 'primary', text: t('quiz.save'), disabled: locked }),
  );
}

function answerStatus(mine) {
  if (mine.status === 'failed') return h('p', { class: 'error', role: 'alert', text: mine.error });
  const key = { sending: 'poll.sending', pending: 'quiz.pending', sent: 'quiz.saved' }[mine.status];
  return h('p', { class: `status ${mine.status}`, 'data-status': mine.status, text: t(key) });
}

function overNote() {
  return h('p', { class: 'over', role: 'alert', 'data-over': '', text: t('quiz.time_over') });
}

/** A countdown to `deadline` (local ms); `from` (local ms) is when its clock started. */
function countdown(deadline, from) {
  return h(
    'div',
    { class: 'countdown', 'data-deadline': deadline, 'data-from': from },
    h('span', { class: 'left' }),
    h('progress', { max: 1, value: 1, 'aria-hidden': 'true' }),
  );
}

function isPast(deadline, skew) {
  return deadline !== null && deadline !== undefined && deadline + skew <= Date.now();
}

function closedPart(c) {
  if (c.scores.length) {
    const several = c.learners.length > 1;
    return h('div', { class: 'scores' }, ...c.scores.map((s) => scoreOf(s, several)));
  }
  return h('p', { class: 'muted', text: t('quiz.closed') });
}

/** A published result: the score and each question right or wrong, or "did not take it". */
function scoreOf({ name, result }, several) {
  if (result.taken === false) {
    const text = several ? t('quiz.not_taken_named', { name }) : t('quiz.not_taken');
    return h('p', { class: 'muted', 'data-not-taken': '', text });
  }
  const vars = { name, s: result.score, m: result.max_score };
  const score = h('p', {
    class: 'score',
    'data-score': result.score,
    text: several ? t('quiz.score_named', vars) : t('quiz.score', vars),
  });
  const marks = (result.questions || []).map((q) => {
    const kind = !q.answered ? 'none' : q.mark === q.points ? 'right' : 'wrong';
    return h(
      'li',
      { 'data-mark': kind },
      h('span', { class: `mark ${kind}`, text: t(`quiz.mark_${kind}`) }),
      h('span', { text: `${q.position}. ${q.text}` }),
    );
  });
  if (!marks.length) return score;
  const title = several ? name : t('quiz.your_answers');
  return h('div', {}, score, h('h3', { text: title }), h('ol', { class: 'plain marks' }, ...marks));
}

/**
 * Move the countdowns on. Returns true when one has just run out (the caller renders again,
 * which locks the answers; the server has the last word with `quiz-time-over`).
 * @param {HTMLElement} box
 */
export function tickQuizzes(box) {
  let ranOut = false;
  const now = Date.now();
  for (const el of box.querySelectorAll('[data-deadline]')) {
    const deadline = Number(el.dataset.deadline);
    const left = Math.max(0, deadline - now);
    const seconds = Math.ceil(left / 1000);
    const time = `${Math.floor(seconds / 60)}:${String(seconds % 60).padStart(2, '0')}`;
    el.firstChild.textContent = t('quiz.left', { time });
    el.lastChild.value = left / Math.max(1, deadline - Number(el.dataset.from));
    el.dataset.low = seconds <= 10 ? 'yes' : 'no';
    if (!left) ranOut = true;
  }
  return ranOut;
}
