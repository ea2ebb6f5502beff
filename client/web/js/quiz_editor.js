/**
 * The teacher's quiz card: compose a short quiz (single or multiple choice and number
 * questions, the correct answers, points, one time limit for the whole quiz or one per
 * question), then follow it: the live tally, close, publish, and the results (each learner's
 * score, each question's statistics). Rendering only, no socket code.
 */
import { h, fill, byId } from './dom.js';
import { t, translate, formatNumber } from './i18n.js';

const KINDS = ['single', 'multiple', 'number'];
const START_OPTIONS = 4;
const MAX_OPTIONS = 12;
const MAX_QUESTIONS = 20;

/**
 * @typedef {{quiz_id: number, info: any, tally: any, results: any, texts: string[]|null}} QuizEntry
 */

const field = (key, control, cls) =>
  h('label', { class: cls }, h('span', { 'data-i18n': key }), control);

/** Build the quiz form into `card` (once); `onStart` is called on submit. */
export function buildQuizForm(card, onStart) {
  const mode = h(
    'select',
    { id: 'quiz-mode' },
    h('option', { value: 'whole', 'data-i18n': 'teach.quiz_whole' }),
    h('option', { value: 'per_question', 'data-i18n': 'teach.quiz_per_question' }),
  );
  const questions = h('div', { id: 'quiz-questions', class: 'stack' });
  const add = h('button', {
    id: 'quiz-add',
    type: 'button',
    'data-i18n': 'teach.quiz_add_question',
  });
  const form = h(
    'form',
    { id: 'quiz-form', class: 'stack', 'data-mode': 'whole' },
    field('teach.quiz_title', h('input', { id: 'quiz-title', maxlength: 200, required: true })),
    field('teach.quiz_mode', mode),
    field(
      'teach.quiz_limit',
      h('input', { id: 'quiz-limit', type: 'number', min: 5, max: 14400, value: '120' }),
      'whole-only',
    ),
    questions,
    h(
      'div',
      { class: 'actions' },
      add,
      h('button', {
        id: 'quiz-start',
        type: 'submit',
        class: 'primary',
        'data-i18n': 'teach.quiz_start',
      }),
    ),
    h('p', { id: 'quiz-error', class: 'error', role: 'alert' }),
  );
  mode.addEventListener('change', () => (form.dataset.mode = mode.value));
  add.addEventListener('click', () => {
    if (questions.children.length < MAX_QUESTIONS) addQuestion(questions);
  });
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    onStart();
  });
  fill(
    card,
    h('h2', { 'data-i18n': 'teach.quiz' }),
    form,
    h('ul', { id: 'quiz-list', class: 'plain entries' }),
  );
  addQuestion(questions);
  translate(card);
}

/** One question's editor: kind, text, options with their "correct" marks, points, time. */
function addQuestion(box) {
  const n = box.children.length + 1;
  const kind = h(
    'select',
    { class: 'q-kind', 'data-i18n-aria-label': 'teach.poll_kind' },
    ...KINDS.map((k) => h('option', { value: k, 'data-i18n': `teach.kind_${k}` })),
  );
  const options = h('div', { class: 'q-options stack' });
  const addOption = h('button', {
    type: 'button',
    class: 'link q-add-option',
    'data-i18n': 'teach.quiz_add_option',
  });
  const remove = h('button', {
    type: 'button',
    class: 'link q-remove',
    'data-i18n': 'teach.quiz_remove_question',
  });
  const q = h(
    'fieldset',
    { class: 'question-editor stack', 'data-question': n, 'data-kind': 'single' },
    h('legend', { class: 'q-legend' }),
    h('div', { class: 'row' }, kind, remove),
    field('teach.quiz_text', h('input', { class: 'q-text', maxlength: 1000 })),
    h('div', { class: 'choice-only stack' }, options, addOption),
    field(
      'teach.quiz_correct_number',
      h('input', { class: 'q-number', type: 'number', step: 'any' }),
      'number-only',
    ),
    h(
      'div',
      { class: 'row' },
      field(
        'teach.quiz_points',
        h('input', { class: 'q-points', type: 'number', min: 0, max: 100, value: '1' }),
      ),
      field(
        'teach.quiz_limit_q',
        h('input', { class: 'q-limit', type: 'number', min: 5, max: 3600, value: '30' }),
        'per-question-only',
      ),
    ),
  );
  for (let i = 0; i < START_OPTIONS; i++) addOptionRow(q);
  kind.addEventListener('change', () => {
    q.dataset.kind = kind.value;
    for (const mark of q.querySelectorAll('.q-correct')) {
      mark.type = kind.value === 'multiple' ? 'checkbox' : 'radio';
    }
  });
  addOption.addEventListener('click', () => {
    if (q.querySelectorAll('.q-option').length < MAX_OPTIONS) addOptionRow(q);
    numberQuestions(box);
  });
  remove.addEventListener('click', () => {
    if (box.children.length > 1) q.remove();
    numberQuestions(box);
  });
  box.append(q);
  numberQuestions(box);
  translate(q);
}

function addOptionRow(q) {
  const box = q.querySelector('.q-options');
  const multiple = q.dataset.kind === 'multiple';
  box.append(
    h(
      'div',
      { class: 'row option-row' },
      h(
        'label',
        { class: 'row correct' },
        h('input', {
          class: 'q-correct',
          type: multiple ? 'checkbox' : 'radio',
          name: `correct-${q.dataset.question}`,
        }),
        h('span', { 'data-i18n': 'teach.quiz_correct' }),
      ),
      h('input', { class: 'q-option', maxlength: 200 }),
    ),
  );
  translate(box);
}

/** Number the question editors again (after one is added or removed). */
function numberQuestions(box) {
  [...box.children].forEach((q, i) => {
    q.dataset.question = String(i + 1);
    q.querySelector('.q-legend').textContent = t('quiz.question_n', { n: i + 1 });
    for (const mark of q.querySelectorAll('.q-correct')) mark.name = `correct-${i + 1}`;
    [...q.querySelectorAll('.q-option')].forEach((input, k) =>
      input.setAttribute('aria-label', t('teach.quiz_option', { n: k + 1 })),
    );
  });
}

/**
 * The quiz the form describes, ready for `quiz_start`, or what is wrong (a catalogue key and
 * its placeholders).
 * @returns {{payload?: any, error?: string, vars?: object}}
 */
export function readQuizForm() {
  const title = byId('quiz-title').value.trim();
  if (!title) return { error: 'teach.quiz_need_title' };
  const mode = byId('quiz-mode').value;
  const payload = { title, mode, questions: [] };
  if (mode === 'whole') {
    payload.limit_s = Number(byId('quiz-limit').value);
    if (!(payload.limit_s >= 5)) return { error: 'teach.quiz_need_limit' };
  }
  const editors = [...byId('quiz-questions').children];
  for (const [i, q] of editors.entries()) {
    const vars = { n: i + 1 };
    const kind = q.querySelector('.q-kind').value;
    const text = q.querySelector('.q-text').value.trim();
    if (!text) return { error: 'teach.quiz_need_text', vars };
    const question = { kind, text, points: Math.round(Number(q.querySelector('.q-points').value)) };
    if (!(question.points >= 0 && question.points <= 100)) question.points = 1;
    if (mode === 'per_question') {
      question.limit_s = Number(q.querySelector('.q-limit').value);
      if (!(question.limit_s >= 5)) return { error: 'teach.quiz_need_limit' };
    }
    if (kind === 'number') {
      const value = q.querySelector('.q-number').value.trim();
      if (value === '') return { error: 'teach.quiz_need_correct', vars };
      question.correct = [Number(value)];
    } else {
      const rows = [...q.querySelectorAll('.option-row')]
        .map((row) => ({
          text: row.querySelector('.q-option').value.trim(),
          correct: row.querySelector('.q-correct').checked,
        }))
        .filter((row) => row.text);
      const texts = rows.map((row) => row.text);
      if (rows.length < 2 || new Set(texts).size !== texts.length) {
        return { error: 'teach.quiz_need_options', vars };
      }
      question.options = texts;
      question.correct = rows.flatMap((row, k) => (row.correct ? [k] : []));
      const enough = kind === 'single' ? question.correct.length === 1 : question.correct.length;
      if (!enough) return { error: 'teach.quiz_need_correct', vars };
    }
    payload.questions.push(question);
  }
  return { payload };
}

/** Empty the form for the next quiz: a title and one blank question. */
export function resetQuizForm() {
  byId('quiz-title').value = '';
  byId('quiz-error').textContent = '';
  const box = byId('quiz-questions');
  box.replaceChildren();
  addQuestion(box);
}

/** Label the question editors again in the current language (numbered labels). */
export function relabelQuizForm() {
  const box = byId('quiz-questions');
  if (box) numberQuestions(box);
}

/**
 * Every quiz of the lesson, newest first: its tally, its buttons, and its results.
 * @param {QuizEntry[]} entries
 * @param {(action: 'close'|'publish'|'results', entry: QuizEntry) => void} act
 */
export function renderQuizList(entries, act) {
  fill(byId('quiz-list'), ...entries.map((e) => quizEntry(e, act)));
}

function quizEntry(e, act) {
  const { info, tally, results } = e;
  const status = info.published
    ? 'teach.status_published'
    : info.closed
      ? 'teach.status_closed'
      : 'teach.status_open';
  const button = (action, key, cls) =>
    h('button', {
      type: 'button',
      class: cls,
      'data-act': action,
      text: t(key),
      onclick: () => act(action, e),
    });
  const texts = e.texts || (results ? results.questions.map((q) => q.text) : []);
  const perQuestion = tally
    ? Object.entries(tally.answers).map(([id, n], i) =>
        h(
          'li',
          { 'data-question-id': id },
          `${i + 1}. `,
          texts[i] || '',
          ' — ',
          h('b', { text: t('poll.answered', { n: formatNumber(n) }) }),
        ),
      )
    : [];
  return h(
    'li',
    { class: 'entry', 'data-quiz-id': e.quiz_id },
    h(
      'div',
      { class: 'row' },
      h('strong', { class: 'title', text: info.title }),
      h('span', { class: 'tag', 'data-status': status, text: t(status) }),
    ),
    tally
      ? h('p', {
          class: 'muted',
          'data-started': tally.learners,
          text: t('teach.quiz_started', { n: formatNumber(tally.learners) }),
        })
      : null,
    h('ol', { class: 'plain per-question' }, ...perQuestion),
    h(
      'div',
      { class: 'actions' },
      info.closed ? null : button('close', 'teach.check_close'),
      info.published ? null : button('publish', 'teach.publish', 'primary'),
      button('results', 'teach.quiz_results'),
    ),
    results ? resultTables(results) : null,
  );
}

function resultTables(r) {
  const head = (...keys) =>
    h('thead', {}, h('tr', {}, ...keys.map((k) => h('th', { text: t(k) }))));
  const learners = [...r.learners].sort(
    (a, b) => b.score - a.score || a.name.localeCompare(b.name),
  );
  const people = learners.length
    ? h(
        'table',
        { class: 'results-table', 'data-results': 'learners' },
        head('teach.quiz_col_learner', 'teach.quiz_col_score'),
        h(
          'tbody',
          {},
          ...learners.map((l) =>
            h(
              'tr',
              { 'data-participant': l.participant_id },
              h('td', { text: l.name }),
              h('td', {
                'data-score': l.score,
                text: t('teach.quiz_score', {
                  s: formatNumber(l.score),
                  m: formatNumber(l.max_score),
                }),
              }),
            ),
          ),
        ),
      )
    : h('p', { class: 'muted', text: t('poll.no_answers') });
  const questions = h(
    'table',
    { class: 'results-table', 'data-results': 'questions' },
    head('teach.quiz_col_question', 'teach.quiz_col_answered', 'teach.quiz_col_correct'),
    h(
      'tbody',
      {},
      ...r.questions.map((q, i) =>
        h(
          'tr',
          { 'data-question-id': q.id },
          h('td', {}, `${i + 1}. `, q.text),
          h('td', { text: formatNumber(q.answered) }),
          h('td', { 'data-correct': q.correct, text: formatNumber(q.correct) }),
        ),
      ),
    ),
  );
  return h('div', { class: 'scroll stack' }, people, questions);
}
