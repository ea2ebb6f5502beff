/**
 * Polls on screen: the student's poll card (big tap targets, one card per poll) and the
 * results as simple bars, which the teacher page shows too. Rendering only, no socket code:
 * what people tap goes out through the callbacks given.
 */
import { h, fill } from './dom.js';
import { t, formatNumber } from './i18n.js';

/**
 * @typedef {{poll_id: number, kind: 'single'|'multiple'|'yesno'|'text'|'number',
 *            question: string, options: string[], anonymous: boolean, changeable: boolean,
 *            closed: boolean, number_min: number|null, number_max: number|null,
 *            results?: Tally}} Poll
 * @typedef {{poll_id: number, answered: number, counts?: number[], texts?: string[],
 *            summary?: {min: number, max: number, mean: number, median: number},
 *            names?: {name: string, answer: any}[]}} Tally
 * @typedef {{answer?: any, status: 'sending'|'sent'|'pending'|'failed', error?: string}} Mine
 * @typedef {{id: string, name: string}} Learner
 * @typedef {{polls: Poll[], learners: Learner[], who: string|null,
 *            mine: (pollId: number, pid: string) => Mine|undefined,
 *            draft: (pollId: number, pid: string) => any}} PollModel
 * @typedef {{answer: (poll: Poll, value: any) => void, pick: (pid: string) => void,
 *            draft: (poll: Poll, value: any) => void, hide: (poll: Poll) => void}} PollActions
 */

/** A poll option as people read it (yes/no options are words of the catalogue). */
export function optionLabel(poll, index) {
  const option = poll.options[index];
  return poll.kind === 'yesno' ? t(`poll.${option}`) : option;
}

const labels = (poll) => poll.options.map((_, i) => optionLabel(poll, i));

/** Someone's answer as text: option labels, the number, or the text itself. */
export function answerText(poll, answer) {
  if (poll.kind === 'single' || poll.kind === 'yesno') return optionLabel(poll, answer);
  if (poll.kind === 'multiple') return answer.map((i) => optionLabel(poll, i)).join(', ');
  if (poll.kind === 'number') return formatNumber(answer, 6);
  return String(answer);
}

/**
 * The student's polls: every open one, and the newest closed one (its results once
 * published), each a card; on a shared phone, tabs choose who is answering.
 * @param {HTMLElement} box @param {PollModel} m @param {PollActions} on
 */
export function renderPolls(box, m, on) {
  box.hidden = !m.polls.length;
  fill(box, ...m.polls.map((poll) => pollCard(poll, m, on)));
}

function pollCard(poll, m, on) {
  const open = !poll.closed;
  const mine = m.who ? m.mine(poll.poll_id, m.who) : undefined;
  return h(
    'article',
    { class: 'card poll', 'data-poll': poll.poll_id, 'data-kind': poll.kind },
    h(
      'div',
      { class: 'row kicker' },
      h('strong', { text: t('poll.heading') }),
      poll.anonymous ? h('span', { class: 'tag', text: t('poll.anonymous') }) : null,
      open
        ? null
        : h('button', {
            type: 'button',
            class: 'link',
            text: t('poll.hide'),
            onclick: () => on.hide(poll),
          }),
    ),
    h('p', { class: 'question', text: poll.question }),
    open && m.learners.length > 1
      ? learnerTabs(m.learners, m.who, (pid) => Boolean(m.mine(poll.poll_id, pid)), on.pick)
      : null,
    open && m.who ? answerArea(poll, mine, m.draft(poll.poll_id, m.who), on) : null,
    open ? statusLine(poll, mine) : null,
    !open && !poll.results ? h('p', { class: 'muted', text: t('poll.closed_wait') }) : null,
    poll.results ? resultBlock(poll, poll.results) : null,
  );
}

/**
 * Tabs naming the learners on a shared phone; the chosen one is pressed, done ones marked.
 * @param {Learner[]} learners @param {string|null} who
 * @param {(pid: string) => boolean} isDone @param {(pid: string) => void} onPick
 */
export function learnerTabs(learners, who, isDone, onPick) {
  return h(
    'div',
    { class: 'tabs', role: 'group', 'aria-label': t('poll.who') },
    ...learners.map((l) =>
      h('button', {
        type: 'button',
        text: l.name,
        'data-learner': l.id,
        'data-done': isDone(l.id) ? 'yes' : 'no',
        'aria-pressed': String(l.id === who),
        onclick: () => onPick(l.id),
      }),
    ),
  );
}

function answerArea(poll, mine, draft, on) {
  const sending = Boolean(mine && mine.status === 'sending');
  const locked = sending || Boolean(mine && mine.status === 'sent' && !poll.changeable);
  const given = mine && mine.status !== 'failed' ? mine.answer : undefined;
  if (poll.kind === 'single' || poll.kind === 'yesno') {
    return choiceButtons(
      labels(poll),
      (i) => given === i,
      locked,
      (i) => on.answer(poll, i),
    );
  }
  if (poll.kind === 'multiple') {
    const picked = draft || new Set(Array.isArray(given) ? given : []);
    const toggle = (i) => {
      const next = new Set(picked);
      if (next.has(i)) next.delete(i);
      else next.add(i);
      on.draft(poll, next);
    };
    return h(
      'div',
      { class: 'stack' },
      choiceButtons(labels(poll), (i) => picked.has(i), locked, toggle, true),
      h('button', {
        type: 'button',
        class: 'primary big',
        'data-send': '',
        text: t('poll.send'),
        disabled: locked || !picked.size,
        onclick: () =>
          on.answer(
            poll,
            [...picked].sort((a, b) => a - b),
          ),
      }),
    );
  }
  return typedAnswer(poll, given, draft, locked, on);
}

/**
 * One big button per option; `many` makes them toggles (multiple choice).
 * @param {string[]} labels @param {(i: number) => boolean} isOn @param {boolean} locked
 * @param {(i: number) => void} onTap @param {boolean} [many]
 */
export function choiceButtons(labels, isOn, locked, onTap, many = false) {
  return h(
    'div',
    { class: many ? 'choices many' : 'choices' },
    ...labels.map((label, i) =>
      h('button', {
        type: 'button',
        class: 'choice',
        'data-option': i,
        'aria-pressed': String(isOn(i)),
        disabled: locked,
        text: label,
        onclick: () => onTap(i),
      }),
    ),
  );
}

function typedAnswer(poll, given, draft, locked, on) {
  const number = poll.kind === 'number';
  const value = draft ?? (given === undefined ? '' : String(given));
  const input = h('input', {
    type: number ? 'number' : 'text',
    inputmode: number ? 'decimal' : null,
    step: number ? 'any' : null,
    min: number ? poll.number_min : null,
    max: number ? poll.number_max : null,
    maxlength: number ? null : 200,
    autocomplete: 'off',
    value,
    disabled: locked,
    placeholder: t(number ? 'poll.number_placeholder' : 'poll.text_placeholder'),
    'aria-label': t(number ? 'poll.number_placeholder' : 'poll.text_placeholder'),
    oninput: (event) => on.draft(poll, event.target.value),
  });
  const range =
    number && (poll.number_min !== null || poll.number_max !== null)
      ? h('p', {
          class: 'muted',
          text: t('poll.range', {
            a: poll.number_min === null ? '…' : formatNumber(poll.number_min, 6),
            b: poll.number_max === null ? '…' : formatNumber(poll.number_max, 6),
          }),
        })
      : null;
  const submit = (event) => {
    event.preventDefault();
    const text = input.value.trim();
    if (!text) return;
    on.answer(poll, number ? Number(text) : text);
  };
  return h(
    'form',
    { class: 'stack', onsubmit: submit },
    range,
    input,
    h('button', { type: 'submit', class: 'primary big', text: t('poll.send'), disabled: locked }),
  );
}

function statusLine(poll, mine) {
  if (!mine) return null;
  if (mine.status === 'failed') return h('p', { class: 'error', role: 'alert', text: mine.error });
  const key = {
    sending: 'poll.sending',
    pending: 'poll.pending',
    sent: poll.changeable ? 'poll.saved_change' : 'poll.saved',
  }[mine.status];
  return h('p', { class: `status ${mine.status}`, 'data-status': mine.status, text: t(key) });
}

/**
 * A poll's tally as people read it: bars for choices, a summary for numbers, the texts, and
 * who answered what when the teacher published the names.
 * @param {Poll} poll @param {Tally} tally
 */
export function resultBlock(poll, tally) {
  const parts = [
    h('p', { class: 'muted', text: t('poll.answered', { n: formatNumber(tally.answered) }) }),
  ];
  if (tally.counts) parts.push(bars(poll, tally));
  if (tally.summary) {
    const s = tally.summary;
    const n = (x) => formatNumber(x, 2);
    parts.push(
      h('p', {
        class: 'summary',
        text: t('poll.summary', {
          min: n(s.min),
          max: n(s.max),
          mean: n(s.mean),
          median: n(s.median),
        }),
      }),
    );
  }
  if (tally.texts && tally.texts.length) {
    parts.push(h('ul', { class: 'plain texts' }, ...tally.texts.map((x) => h('li', { text: x }))));
  }
  if (tally.names && tally.names.length) {
    parts.push(
      h('h3', { text: t('poll.names') }),
      h(
        'ul',
        { class: 'plain names' },
        ...tally.names.map((row) =>
          h('li', {}, h('b', { text: row.name }), ' — ', answerText(poll, row.answer)),
        ),
      ),
    );
  }
  return h('div', { class: 'results', 'data-results': poll.poll_id }, ...parts);
}

function bars(poll, tally) {
  const most = Math.max(1, ...tally.counts);
  return h(
    'ul',
    { class: 'plain bars' },
    ...tally.counts.map((count, i) =>
      h(
        'li',
        { 'data-option': i, 'data-count': count },
        h(
          'div',
          { class: 'row' },
          h('span', { class: 'label', text: optionLabel(poll, i) }),
          h('b', { text: formatNumber(count) }),
        ),
        h('progress', { max: most, value: count, 'aria-hidden': 'true' }),
      ),
    ),
  );
}
