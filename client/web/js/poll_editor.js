/**
 * The teacher's poll card: a form to compose and open a poll, and every poll of the lesson
 * with its live tally and what can be done to it (close, publish with or without names).
 * Rendering only, no socket code: actions go out through the callbacks given.
 */
import { h, fill, byId } from './dom.js';
import { t, translate, formatNumber } from './i18n.js';
import { resultBlock } from './poll_view.js';

const KINDS = ['single', 'multiple', 'yesno', 'text', 'number'];

/**
 * @typedef {{poll_id: number, poll: import('./poll_view.js').Poll|null,
 *            tally: import('./poll_view.js').Tally|null, closed: boolean,
 *            published: boolean, withNames: boolean}} PollEntry
 */

const field = (key, control) => h('label', {}, h('span', { 'data-i18n': key }), control);
const check = (id, key, checked = false) =>
  h(
    'label',
    { class: 'row' },
    h('input', { id, type: 'checkbox', checked }),
    h('span', { 'data-i18n': key }),
  );

/** Build the poll form into `card` (once); `onOpen` is called on submit. */
export function buildPollForm(card, onOpen) {
  const kind = h(
    'select',
    { id: 'poll-kind' },
    ...KINDS.map((k) => h('option', { value: k, 'data-i18n': `teach.kind_${k}` })),
  );
  const form = h(
    'form',
    { id: 'poll-form', class: 'stack' },
    field('teach.poll_kind', kind),
    field(
      'teach.poll_question',
      h('input', { id: 'poll-question', maxlength: 500, required: true }),
    ),
    h(
      'div',
      { 'data-for': 'single multiple' },
      field('teach.poll_options', h('textarea', { id: 'poll-options', rows: 4 })),
    ),
    h('div', { 'data-for': 'yesno' }, check('poll-abstain', 'teach.poll_abstain', true)),
    h(
      'div',
      { class: 'row', 'data-for': 'number' },
      field('teach.poll_min', h('input', { id: 'poll-min', type: 'number', step: 'any' })),
      field('teach.poll_max', h('input', { id: 'poll-max', type: 'number', step: 'any' })),
    ),
    check('poll-anonymous', 'teach.poll_anonymous'),
    check('poll-changeable', 'teach.poll_changeable', true),
    check('poll-guests', 'teach.poll_guests', true),
    h('button', {
      id: 'poll-open',
      type: 'submit',
      class: 'primary',
      'data-i18n': 'teach.poll_open',
    }),
    h('p', { id: 'poll-error', class: 'error', role: 'alert' }),
  );
  const showFor = () => {
    for (const el of form.querySelectorAll('[data-for]')) {
      el.hidden = !el.dataset.for.split(' ').includes(kind.value);
    }
  };
  kind.addEventListener('change', showFor);
  form.querySelector('#poll-anonymous').addEventListener('change', (event) => {
    const changeable = form.querySelector('#poll-changeable');
    changeable.disabled = event.target.checked; // an anonymous ballot cannot be taken back
    if (event.target.checked) changeable.checked = false;
  });
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    onOpen();
  });
  fill(
    card,
    h('h2', { 'data-i18n': 'teach.poll' }),
    form,
    h('ul', { id: 'poll-list', class: 'plain entries' }),
  );
  showFor();
  translate(card);
}

/**
 * The poll the form describes, ready for `poll_open`, or the catalogue key of what is wrong.
 * @returns {{payload?: object, error?: string}}
 */
export function readPollForm() {
  const kind = byId('poll-kind').value;
  const question = byId('poll-question').value.trim();
  if (!question) return { error: 'teach.poll_need_question' };
  const anonymous = byId('poll-anonymous').checked;
  const payload = {
    kind,
    question,
    anonymous,
    changeable: !anonymous && byId('poll-changeable').checked,
    guests: byId('poll-guests').checked,
  };
  if (kind === 'single' || kind === 'multiple') {
    const options = byId('poll-options')
      .value.split('\n')
      .map((o) => o.trim())
      .filter(Boolean);
    if (options.length < 2 || options.length > 12 || new Set(options).size !== options.length) {
      return { error: 'teach.poll_need_options' };
    }
    payload.options = options;
  }
  if (kind === 'yesno') payload.abstain = byId('poll-abstain').checked;
  if (kind === 'number') {
    for (const [id, name] of [
      ['poll-min', 'number_min'],
      ['poll-max', 'number_max'],
    ]) {
      const value = byId(id).value.trim();
      if (value !== '') payload[name] = Number(value);
    }
  }
  return { payload };
}

/** Empty the question and options after a poll has opened (the settings stay). */
export function resetPollForm() {
  byId('poll-question').value = '';
  byId('poll-options').value = '';
  byId('poll-error').textContent = '';
}

/**
 * Every poll of the lesson, newest first, with its live tally and its buttons.
 * @param {PollEntry[]} entries
 * @param {(action: 'close'|'publish'|'publish-names', entry: PollEntry) => void} act
 */
export function renderPollList(entries, act) {
  const button = (action, key, cls) =>
    h('button', { type: 'button', class: cls, 'data-act': action, text: t(key) });
  fill(
    byId('poll-list'),
    ...entries.map((e) => {
      const { poll, tally } = e;
      const status = e.published
        ? e.withNames
          ? 'teach.status_published_names'
          : 'teach.status_published'
        : e.closed
          ? 'teach.status_closed'
          : 'teach.status_open';
      const actions = h(
        'div',
        { class: 'actions' },
        e.closed ? null : button('close', 'teach.check_close'),
        e.published ? null : button('publish', 'teach.publish', 'primary'),
        e.published || (poll && poll.anonymous)
          ? null
          : button('publish-names', 'teach.publish_names'),
      );
      for (const b of actions.querySelectorAll('button')) {
        b.addEventListener('click', () => act(b.dataset.act, e));
      }
      return h(
        'li',
        { class: 'entry', 'data-poll-id': e.poll_id },
        h(
          'div',
          { class: 'row' },
          h('strong', {
            class: 'title',
            text: poll ? poll.question : t('teach.poll_n', { n: e.poll_id }),
          }),
          h('span', { class: 'tag', 'data-status': status, text: t(status) }),
          poll && poll.anonymous
            ? h('span', { class: 'tag', text: t('poll.anonymous_short') })
            : null,
        ),
        poll && tally
          ? resultBlock(poll, tally)
          : h('p', {
              class: 'muted',
              text: t('poll.answered', { n: formatNumber(tally ? tally.answered : 0) }),
            }),
        actions.children.length ? actions : null,
      );
    }),
  );
}
