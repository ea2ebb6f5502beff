/**
 * What the organizer pages show: courses, roster with links, teachers, lessons, a lesson's
 * attendance report and the course matrix. Rendering only; actions go out through `act`.
 */
import { h, fill, byId } from './dom.js';
import { t, formatNumber, formatDateTime, formatTime } from './i18n.js';

/** @typedef {(action: string, data?: any) => void} Act */

function table(id, headKeys, rows) {
  const head = h('tr', {}, ...headKeys.map((k) => h('th', { text: t(k) })));
  const body = rows.length
    ? rows
    : [h('tr', {}, h('td', { class: 'muted', colspan: headKeys.length, text: t('org.empty') }))];
  fill(byId(id), h('thead', {}, head), h('tbody', {}, ...body));
}

/** A row of small buttons: [i18n key, action, data] each. */
function actions(act, ...items) {
  return h(
    'div',
    { class: 'row actions' },
    ...items.map(([key, action, data]) =>
      h('button', { type: 'button', text: t(key), onclick: () => act(action, data) }),
    ),
  );
}

/** A personal link in a read-only box, selected on tap so that it is easy to copy. */
function linkBox(link, name) {
  return h('input', {
    class: 'linkbox',
    readonly: true,
    value: link,
    'aria-label': t('org.link_of', { name }),
    onfocus: (e) => e.target.select(),
  });
}

export function renderCourses(courses, selected, act) {
  const items = courses.map((c) =>
    h(
      'li',
      {},
      h('button', {
        type: 'button',
        class: c.id === selected ? 'current' : '',
        'aria-current': c.id === selected ? 'page' : null,
        text: c.title,
        onclick: () => act('course', c),
      }),
    ),
  );
  if (!items.length) items.push(h('li', { class: 'muted', text: t('org.no_courses') }));
  fill(byId('course-list'), ...items);
  fill(
    byId('teacher-courses'),
    h('legend', { text: t('org.courses') }),
    ...courses.map((c) =>
      h(
        'label',
        { class: 'row' },
        h('input', { type: 'checkbox', value: c.id }),
        h('span', { text: c.title }),
      ),
    ),
  );
}

export function renderRoster(students, act) {
  const rows = students.map((s) =>
    h(
      'tr',
      { 'data-student': s.id },
      h('td', { text: s.name }),
      h('td', { text: s.external_id }),
      h('td', {}, linkBox(s.link, s.name)),
      h(
        'td',
        {},
        actions(
          act,
          ['org.qr', 'student-qr', s],
          ['org.rename', 'student-rename', s],
          ['org.new_link', 'student-rotate', s],
          ['org.erase', 'student-erase', s],
        ),
      ),
    ),
  );
  table('roster-table', ['org.col_name', 'org.col_external', 'org.col_link', 'org.col_actions'], rows);
}

/** What an import would do, row by row, and what is wrong; nothing is stored yet. */
export function renderRosterPreview(preview) {
  byId('roster-preview').hidden = !preview;
  if (!preview) return;
  const sep = preview.separator === '\t' ? t('org.sep_tab') : `“${preview.separator || '—'}”`;
  byId('roster-preview-read').textContent = t('org.preview_read', {
    format: preview.format.toUpperCase(),
    sep,
    encoding: preview.encoding || '—',
    header: t(preview.header ? 'org.yes' : 'org.no'),
  });
  const bad = preview.problems.length;
  byId('roster-preview-counts').textContent = t('org.preview_counts', {
    n: preview.students.length,
    bad,
  });
  byId('roster-problems-box').hidden = !bad;
  const problems = preview.problems.map((p) =>
    h('tr', {}, h('td', { text: String(p.row) }), h('td', { text: t(`org.problem.${p.code}`) })),
  );
  table('roster-problems', ['org.col_row', 'org.col_problem'], problems);
  const rows = preview.students.map((s) =>
    h(
      'tr',
      {},
      h('td', { text: String(s.row) }),
      h('td', { text: s.name }),
      h('td', { text: s.external_id }),
      h('td', { text: t(s.action === 'update' ? 'org.action_update' : 'org.action_create') }),
    ),
  );
  const head = ['org.col_row', 'org.col_name', 'org.col_external', 'org.col_action'];
  table('roster-preview-table', head, rows);
  const confirm = byId('roster-confirm');
  confirm.textContent = t('org.confirm_import', { n: preview.students.length });
  confirm.disabled = bad > 0 || preview.students.length === 0;
}

export function renderLessons(lessons, act) {
  const rows = lessons.map((l) =>
    h(
      'tr',
      { 'data-lesson': l.id },
      h('td', { text: l.title }),
      h('td', { text: t(`status.${l.status}`) }),
      h('td', { class: 'linkbox', text: l.allow_guests ? l.code : '—' }),
      h('td', { text: formatDateTime(l.started_ms) }),
      h(
        'td',
        {},
        l.started_ms
          ? h('button', { type: 'button', text: t('org.report'), onclick: () => act('report', l) })
          : null,
        l.started_ms // this tab keeps the admin key: the replay page opens with it
          ? h('a', { class: 'replay-link', href: `/replay?lesson=${l.id}`, text: t('org.replay') })
          : null,
      ),
      h(
        'td',
        {},
        actions(
          act,
          ['org.rename', 'lesson-rename', l],
          ...(l.status === 'live' ? [] : [['org.delete', 'lesson-delete', l]]),
          ...(l.started_ms ? [['org.delete_recording', 'recording-delete', l]] : []),
        ),
      ),
    ),
  );
  table(
    'lesson-table',
    [
      'org.col_lesson',
      'org.col_status',
      'org.col_code',
      'org.col_started',
      'org.col_report',
      'org.col_actions',
    ],
    rows,
  );
}

/** A teacher's courses as check boxes: ticking one gives or takes that course at once. */
function teacherCourses(teacher, courses, act) {
  const boxes = courses.map((c) => {
    const input = h('input', { type: 'checkbox', value: c.id });
    input.checked = teacher.course_ids.includes(c.id);
    input.addEventListener('change', () => {
      const keep = (id) => (id === c.id ? input.checked : teacher.course_ids.includes(id));
      const ids = courses.map((x) => x.id).filter(keep);
      act('teacher-courses', { teacher, ids });
    });
    return h('label', { class: 'row' }, input, h('span', { text: c.title }));
  });
  return h('div', { class: 'stack' }, ...boxes);
}

export function renderTeachers(teachers, courses, act) {
  const rows = teachers.map((x) =>
    h(
      'tr',
      { 'data-teacher': x.id },
      h('td', { text: x.name }),
      h('td', {}, teacherCourses(x, courses, act)),
      h('td', {}, linkBox(x.link, x.name)),
      h(
        'td',
        {},
        actions(
          act,
          ['org.rename', 'teacher-rename', x],
          ['org.new_link', 'teacher-rotate', x],
          ['org.delete', 'teacher-delete', x],
        ),
      ),
    ),
  );
  table('teacher-table', ['org.col_name', 'org.courses', 'org.col_link', 'org.col_actions'], rows);
}

/** Rename or delete the open course. */
export function renderCourseActions(course, act) {
  fill(
    byId('course-actions'),
    actions(
      act,
      ['org.rename', 'course-rename', course],
      ['org.delete_course', 'course-delete', course],
    ),
  );
}

const minutes = (m) => formatNumber(m, 1);
const clock = (ms) => (ms ? formatTime(ms) : '—');

/** One lesson's attendance report: a row per learner. */
export function renderReport(report) {
  const length = t('org.minutes', { n: minutes(report.lesson_minutes) });
  const when = formatDateTime(report.started_at);
  byId('report-heading').textContent = `${report.lesson.title} · ${when} · ${length}`;
  const decks = (report.decks || []).map((d) =>
    t('org.deck', { title: d.title || d.deck.slice(0, 8), pages: d.shown.join(', ') }),
  );
  byId('report-decks').textContent = t('org.decks', { list: decks.join('; ') });
  byId('report-decks').hidden = !decks.length;
  const rows = report.learners.map((r) => {
    const network = (r.gaps && r.gaps.network) || { count: 0, minutes: 0 };
    return h(
      'tr',
      { 'data-learner': r.id },
      h('td', {}, r.name, r.guest ? h('span', { class: 'tag', text: t('role.guest') }) : null),
      h('td', { class: `status-${r.status}`, text: t(`report.${r.status}`) }),
      h('td', { text: r.first_join ? `${clock(r.first_join)}–${clock(r.last_leave)}` : '—' }),
      h('td', { text: minutes(r.minutes_present) }),
      h('td', { text: minutes(r.minutes_listening) }),
      h('td', { text: minutes(r.minutes_background) }),
      h('td', {
        'data-network-gaps': network.count,
        text: `${formatNumber(network.count)} (${minutes(network.minutes)})`,
      }),
      h('td', { text: `${formatNumber(r.checks_answered)}/${formatNumber(r.checks_issued)}` }),
      h('td', { text: `${formatNumber(r.chat_messages)} / ${formatNumber(r.hands_raised)}` }),
    );
  });
  table(
    'report-table',
    [
      'org.col_name',
      'org.col_status',
      'org.col_span',
      'org.col_present',
      'org.col_listening',
      'org.col_background',
      'org.col_network',
      'org.col_checks',
      'org.col_activity',
    ],
    rows,
  );
}

/** The course matrix: a row per learner, a column per lesson. */
export function renderMatrix(matrix) {
  const head = h(
    'tr',
    {},
    h('th', { text: t('org.col_name') }),
    ...matrix.lessons.map((l) => h('th', { text: l.title })),
  );
  const rows = matrix.learners.map((r) =>
    h(
      'tr',
      {},
      h('td', { text: r.name }),
      ...matrix.lessons.map((l) => {
        const cell = r.lessons[l.id];
        return h('td', {
          class: cell ? `status-${cell.status}` : '',
          text: cell ? t(`report.${cell.status}`) : '—',
        });
      }),
    ),
  );
  fill(byId('matrix-table'), h('thead', {}, head), h('tbody', {}, ...rows));
}
