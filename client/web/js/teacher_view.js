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

// Kyrgyz alphabetical order (Ң after Н, Ө after О, Ү after У); Russian names keep theirs.
const collator = new Intl.Collator(['ky', 'ru'], { sensitivity: 'base' });
const GONE = ['removed', 'denied', 'left', 'absent'];

/**
 * Every learner at a glance: the course's roster (absent ones too) and the guests who came;
 * raised hands first, in queue order, then who is here, then who is not, each by name.
 * @param {Map<string, Participant>} participants who is in the lesson
 * @param {{id: string, name: string}[]} roster the course's students
 */
export function renderRoster(participants, roster, hands, act) {
  const people = learnersOf(participants, roster);
  const position = new Map(hands.map((x, i) => [x.id, i + 1]));
  const rank = (p) => position.get(p.id) || (GONE.includes(p.presence) ? 1e6 : 1e3);
  people.sort((a, b) => rank(a) - rank(b) || collator.compare(a.name, b.name));
  const present = people.filter((p) => p.presence === 'present').length;
  byId('roster-heading').textContent = t('teach.roster', {
    n: formatNumber(present),
    all: formatNumber(people.length),
  });
  const head = h(
    'tr',
    {},
    ...['teach.col_name', 'teach.col_state', 'teach.col_actions'].map((k) =>
      h('th', { text: t(k) }),
    ),
  );
  const rows = people.map((p) => rosterRow(p, position.get(p.id), participants, act));
  const open = byId('roster').querySelector('details[open]'); // stays open across updates
  const openId = open && open.closest('tr').dataset.participant;
  fill(byId('roster'), h('thead', {}, head), h('tbody', {}, ...rows));
  const sel = openId && `tr[data-participant="${CSS.escape(openId)}"] details`;
  const again = sel && byId('roster').querySelector(sel);
  if (again) again.open = true;
}

/** Learners in the lesson or on the roster (never the teachers, never the waiting). */
function learnersOf(participants, roster) {
  const inLesson = [...participants.values()].filter(
    (p) => p.role !== 'teacher' && p.presence !== 'waiting',
  );
  const absent = roster
    .filter((s) => !participants.has(s.id))
    .map((s) => ({ id: s.id, name: s.name, role: 'student', presence: 'absent', visible: false }));
  return [...inLesson, ...absent];
}

function rosterRow(p, hand, participants, act) {
  const phone = p.device && participants.get(p.device);
  const name = h(
    'td',
    {},
    p.name,
    p.role === 'guest' ? h('span', { class: 'tag', text: t('role.guest') }) : null,
    hand
      ? h('span', { class: 'tag hand', 'data-hand': hand, text: t('teach.hand', { n: hand }) })
      : null,
    phone && p.presence === 'present'
      ? h('span', {
          class: 'tag',
          'data-device': p.device,
          text: t('teach.on_phone', { name: phone.name }),
        })
      : null,
  );
  const canAct = !GONE.includes(p.presence);
  // No actions for who is not here: their state takes the actions' room too.
  const state = h(
    'td',
    canAct ? {} : { colspan: 2 },
    h('span', { class: `presence ${p.presence}`, text: t(`presence.${p.presence}`) }),
    p.presence === 'present' && !p.visible
      ? h('span', { class: 'tag', text: t(p.listening ? 'teach.listening' : 'teach.background') })
      : null,
    p.chat_muted ? h('span', { class: 'tag', text: t('teach.muted') }) : null,
  );
  const actions = canAct ? h('td', { class: 'actions' }, rowMenu(p, act)) : null;
  return h('tr', { 'data-participant': p.id, 'data-presence': p.presence }, name, state, actions);
}

/** The rarer actions behind one "⋯" button, so that a row stays one line on a phone. */
function rowMenu(p, act) {
  const item = (text, onclick, cls = '') =>
    h('button', { type: 'button', class: cls, text, onclick });
  const label = { 'aria-label': t('teach.menu', { name: p.name }), title: t('teach.col_actions') };
  const menu = h('details', { class: 'menu' }, h('summary', label, '⋯'));
  const close = (fn) => () => {
    menu.open = false;
    fn();
  };
  menu.append(
    h(
      'div',
      { class: 'menu-items' },
      item(
        t(p.chat_muted ? 'teach.unmute' : 'teach.mute'),
        close(() => act('mute', { participant_id: p.id, muted: !p.chat_muted })),
      ),
      p.role === 'student' && p.presence === 'present'
        ? item(t('teach.attach'), close(() => act('attach-to', p)))
        : null,
      item(t('teach.remove'), close(() => act('remove', p)), 'danger'),
    ),
  );
  return menu;
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
  // In the header too: on a phone the waiting room may be far down the page.
  const pill = byId('waiting-count');
  pill.hidden = !waiting.length;
  pill.textContent = t('teach.waiting_n', { n: formatNumber(waiting.length) });
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

/** Who the next message goes to privately, above the chat box (hidden: to everyone). */
export function renderReplyTo(who) {
  byId('reply-to').hidden = !who;
  byId('reply-to-text').textContent = who ? t('chat.reply_to', { name: who.name }) : '';
  const hint = t(who ? 'chat.reply_placeholder' : 'chat.placeholder');
  byId('chat-text').setAttribute('placeholder', hint);
}

const STATUSES = ['present', 'late', 'left-early', 'absent'];

/**
 * The ended lesson's attendance: how many came, by status, and who did not come.
 * @param {{id: string, title: string}} info
 * @param {any} report the lesson's report (null while it loads)
 */
export function renderEnded(info, report) {
  byId('ended-title').textContent = t('teach.ended_title', { title: info.title });
  // The replay opens with the same personal link (it says so if nothing was recorded).
  byId('ended-replay').href = `/replay?lesson=${encodeURIComponent(info.id)}${location.hash}`;
  byId('title').textContent = info.title;
  if (!report) {
    byId('ended-when').textContent = '';
    byId('ended-summary').textContent = t('teach.ended_loading');
    fill(byId('ended-counts'));
    byId('ended-absent').textContent = '';
    return;
  }
  const learners = report.learners;
  const by = (status) => learners.filter((r) => r.status === status);
  const minutes = formatNumber(Math.round(report.lesson_minutes));
  byId('ended-when').textContent =
    `${formatDateTime(report.started_at)} · ${t('teach.ended_minutes', { n: minutes })}`;
  const came = learners.filter((r) => r.status !== 'absent').length;
  byId('ended-summary').textContent = t('teach.ended_came', {
    n: formatNumber(came),
    all: formatNumber(learners.length),
  });
  fill(
    byId('ended-counts'),
    ...STATUSES.map((s) =>
      h(
        'li',
        { class: 'row', 'data-status': s },
        h('span', { class: `title status-${s}`, text: t(`report.${s}`) }),
        h('strong', { text: formatNumber(by(s).length) }),
      ),
    ),
  );
  const absent = by('absent').map((r) => r.name).sort(collator.compare);
  byId('ended-absent').textContent = absent.length
    ? t('teach.ended_absent', { names: absent.join(', ') })
    : '';
}
