/**
 * What the teacher page shows: the lesson list, the roster with presence and hands, the
 * waiting room, the attendance-check tally and the join QR. Rendering only, no socket code:
 * actions go out through the `act` callback.
 */
import { h, fill, byId } from './dom.js';
import { t, formatNumber, formatDateTime } from './i18n.js';

/**
 * @typedef {{id: string, name: string, role: string, presence: string, visible: boolean,
 *            chat_muted: boolean}} Participant
 * @typedef {{check_id: number, started_at: number, deadline: number, closed: boolean,
 *            answered: number, expected: number}} Tally
 * @typedef {(action: string, data?: any) => void} Act
 */

/** Lessons of the teacher's courses, with what can be done to each. */
export function renderLessons(courses, lessons, act) {
  const blocks = courses.map((course) => {
    const rows = (lessons.get(course.id) || [])
      .filter((l) => l.status !== 'ended')
      .map((l) =>
        h(
          'li',
          { class: 'row', 'data-lesson': l.id },
          h(
            'span',
            { class: 'title' },
            l.title,
            ' ',
            h('span', { class: 'tag', text: t(`status.${l.status}`) }),
          ),
          l.status === 'created'
            ? h('button', {
                type: 'button',
                class: 'primary',
                text: t('teach.start'),
                onclick: () => act('start', l),
              })
            : h('button', {
                type: 'button',
                class: 'primary',
                text: t('teach.open'),
                onclick: () => act('open', l),
              }),
        ),
      );
    if (!rows.length) rows.push(h('li', { class: 'muted', text: t('teach.no_lessons') }));
    return h(
      'section',
      { class: 'card' },
      h('h2', { text: course.title }),
      h('ul', { class: 'plain' }, ...rows),
    );
  });
  fill(byId('lesson-list'), ...blocks);
  const select = byId('new-course');
  fill(select, ...courses.map((c) => new Option(c.title, c.id)));
}

/** The roster: everyone who came, with presence, page visibility, hand and chat state. */
export function renderRoster(participants, hands, act) {
  const people = [...participants.values()]
    .filter((p) => p.presence !== 'waiting')
    .sort(
      (a, b) => (a.role !== 'teacher') - (b.role !== 'teacher') || a.name.localeCompare(b.name),
    );
  const present = people.filter((p) => p.presence === 'present').length;
  byId('roster-heading').textContent = t('teach.roster', {
    n: formatNumber(present),
    all: formatNumber(people.length),
  });
  const position = new Map(hands.map((x, i) => [x.id, i + 1]));
  const head = h(
    'tr',
    {},
    ...['teach.col_name', 'teach.col_state', 'teach.col_actions'].map((k) =>
      h('th', { text: t(k) }),
    ),
  );
  const rows = people.map((p) => rosterRow(p, position.get(p.id), act));
  fill(byId('roster'), h('thead', {}, head), h('tbody', {}, ...rows));
}

function rosterRow(p, hand, act) {
  const state = h(
    'td',
    {},
    h('span', { class: `presence ${p.presence}`, text: t(`presence.${p.presence}`) }),
    p.presence === 'present' && !p.visible
      ? h('span', { class: 'tag', text: t(p.listening ? 'teach.listening' : 'teach.background') })
      : null,
    hand
      ? h('span', { class: 'tag', 'data-hand': hand, text: t('teach.hand', { n: hand }) })
      : null,
    p.chat_muted ? h('span', { class: 'tag', text: t('teach.muted') }) : null,
  );
  const canAct = p.role !== 'teacher' && !['removed', 'denied', 'left'].includes(p.presence);
  const actions = canAct
    ? h(
        'td',
        { class: 'actions' },
        h('button', {
          type: 'button',
          text: t(p.chat_muted ? 'teach.unmute' : 'teach.mute'),
          onclick: () => act('mute', { participant_id: p.id, muted: !p.chat_muted }),
        }),
        p.role === 'student' && p.presence === 'present'
          ? h('button', {
              type: 'button',
              text: t('teach.attach'),
              onclick: () => act('attach-to', p),
            })
          : null,
        h('button', {
          type: 'button',
          class: 'danger',
          text: t('teach.remove'),
          onclick: () => act('remove', p),
        }),
      )
    : h('td', {});
  const name = h(
    'td',
    {},
    p.name,
    p.role !== 'student' ? h('span', { class: 'tag', text: t(`role.${p.role}`) }) : null,
  );
  return h('tr', { 'data-participant': p.id }, name, state, actions);
}

/** The raised-hand queue, first first. */
export function renderHands(hands, act) {
  const items = hands.map((x, i) =>
    h(
      'li',
      { class: 'row', 'data-hand': x.id },
      h('span', { class: 'title' }, `${i + 1}. `, x.name),
      h('button', { type: 'button', text: t('teach.lower'), onclick: () => act('lower', x) }),
    ),
  );
  if (!items.length) items.push(h('li', { class: 'muted', text: t('teach.no_hands') }));
  fill(byId('hands-list'), ...items);
}

/** Guests waiting to be let in. */
export function renderWaiting(participants, act) {
  const waiting = [...participants.values()].filter((p) => p.presence === 'waiting');
  byId('waiting-card').hidden = !waiting.length;
  fill(
    byId('waiting-list'),
    ...waiting.map((p) =>
      h(
        'li',
        { class: 'row', 'data-waiting': p.id },
        h('span', { class: 'title', text: p.name }),
        h('button', {
          type: 'button',
          class: 'primary',
          text: t('teach.admit'),
          onclick: () => act('admit', p),
        }),
        h('button', { type: 'button', text: t('teach.deny'), onclick: () => act('deny', p) }),
      ),
    ),
  );
}

/**
 * The open check's live tally and the earlier checks.
 * @param {Tally[]} tallies in check order
 * @param {number} skew local clock minus server clock, ms
 */
export function renderChecks(tallies, skew) {
  const open = tallies.find((x) => !x.closed);
  byId('check-live').hidden = !open;
  byId('check-start').disabled = Boolean(open);
  if (open) {
    byId('check-tally').textContent = t('teach.tally', {
      a: formatNumber(open.answered),
      e: formatNumber(open.expected),
    });
    const left = Math.max(0, open.deadline + skew - Date.now());
    byId('check-progress').value = left / Math.max(1, open.deadline - open.started_at);
    byId('check-left').textContent = t('check.left', { n: formatNumber(Math.ceil(left / 1000)) });
  }
  const done = tallies.filter((x) => x.closed).reverse();
  fill(
    byId('check-history'),
    ...done.map((x) =>
      h(
        'li',
        {},
        t('record.check', { n: x.check_id }),
        ' — ',
        formatDateTime(x.started_at),
        ': ',
        t('teach.tally', { a: formatNumber(x.answered), e: formatNumber(x.expected) }),
      ),
    ),
  );
}

/** The lesson's heading and the guest join code under its QR. */
export function renderLessonInfo(info, state) {
  byId('live-title').textContent = info.title;
  byId('title').textContent = info.title;
  byId('live-info').textContent =
    `${t(`status.${info.status}`)} · ${formatDateTime(info.started_ms)}`;
  byId('qr-code').textContent = info.allow_guests ? info.code : '';
  byId('qr').hidden = !info.allow_guests;
  byId('guest-controls').hidden = !info.allow_guests;
  byId('qr-note').textContent = t(info.allow_guests ? 'teach.qr_guests' : 'teach.qr_no_guests');
  byId('count').hidden = state === null;
}

/**
 * Choosing a roster learner to put on another learner's (shared) phone.
 * @param {Participant|null} device the participant whose phone it is, or null (closed)
 * @param {{id: string, name: string}[]} roster the course's students
 * @param {Map<string, Participant>} participants who is in the lesson
 */
export function renderAttach(device, roster, participants, act) {
  byId('attach').hidden = !device;
  if (!device) return;
  byId('attach-heading').textContent = t('teach.attach_heading', { name: device.name });
  const away = roster.filter((s) => {
    const p = participants.get(s.id);
    return !p || p.presence !== 'present';
  });
  const select = byId('attach-student');
  fill(select, ...away.map((s) => new Option(s.name, s.id)));
  byId('attach-add').disabled = !away.length;
}
