/**
 * The organizer pages (/organize): the admin key (kept in this tab's sessionStorage), then
 * courses, rosters (CSV import), teachers, lessons, attendance reports with the presence
 * timeline, the course matrix and CSV downloads, all over the REST API. Page logic only.
 */
import { Rest } from './rest.js';
import { byId, flash, showBlob, saveBlob } from './dom.js';
import {
  t,
  errorText,
  setLanguage,
  preferredLanguage,
  bindLanguageSelect,
  onLanguage,
  language,
} from './i18n.js';
import * as view from './organizer_view.js';
import { manageActions } from './organizer_manage.js';

const KEY = 'sabak.adminKey';
const state = {
  courses: [],
  course: null,
  students: [],
  lessons: [],
  teachers: [],
  report: null,
  matrix: null,
  tab: 'courses',
  sub: 'roster',
  rosterPreview: null,
};
/** @type {Rest|null} */
let rest = null;
const manage = manageActions({ rest: () => rest, attempt, notice, reload });

async function main() {
  await setLanguage(preferredLanguage());
  bindLanguageSelect(byId('lang'));
  onLanguage(renderAll);
  bindControls();
  const key = sessionGet();
  if (key) await signIn(key);
  else byId('login').hidden = false;
}

async function signIn(key) {
  rest = new Rest(key);
  try {
    state.courses = await rest.get('/api/courses');
    state.teachers = await rest.get('/api/teachers');
  } catch (err) {
    rest = null;
    sessionSet(null);
    byId('login').hidden = false;
    // A wrong key is not a "link": say which key is wrong.
    return notice(err.code === 'bad-token' ? t('org.bad_key') : errorText(err));
  }
  byId('notice').hidden = true; // an earlier "wrong key" is over
  sessionSet(key);
  byId('login').hidden = true;
  byId('org').hidden = false;
  renderAll();
}

/** Run a REST action; a refusal becomes a notice. */
async function attempt(fn) {
  try {
    return await fn();
  } catch (err) {
    notice(errorText(err) + (err.code === 'invalid-payload' ? ` ${err.message}` : ''));
    return undefined;
  }
}

async function act(action, data) {
  if (manage[action]) return manage[action](data);
  if (action === 'course') return openCourse(data);
  if (action === 'student-qr') {
    const blob = await attempt(() => rest.get(`/api/students/${data.id}/qr.svg`, 'blob'));
    if (!blob) return;
    showBlob(byId('student-qr'), blob);
    byId('student-qr-name').textContent = data.name;
    byId('student-qr-box').hidden = false;
  }
  if (action === 'report') return openReport(data);
}

/** After a correction: everything shown again from the server (a deleted course closes). */
async function reload() {
  state.courses = (await attempt(() => rest.get('/api/courses'))) || state.courses;
  state.teachers = (await attempt(() => rest.get('/api/teachers'))) || state.teachers;
  const course = state.course && state.courses.find((c) => c.id === state.course.id);
  if (course) return openCourse(course);
  state.course = null;
  renderAll();
}

async function openCourse(course) {
  state.course = course;
  state.report = null;
  state.rosterPreview = null;
  const [students, lessons, matrix] = await Promise.all([
    attempt(() => rest.get(`/api/courses/${course.id}/students`)),
    attempt(() => rest.get(`/api/courses/${course.id}/lessons`)),
    attempt(() => rest.get(`/api/courses/${course.id}/report`)),
  ]);
  Object.assign(state, { students: students || [], lessons: lessons || [], matrix });
  byId('student-qr-box').hidden = true;
  renderAll();
}

async function openReport(lesson) {
  const report = await attempt(() => rest.get(`/api/lessons/${lesson.id}/report`));
  if (!report) return;
  state.report = report;
  renderAll();
  const path = `/api/lessons/${lesson.id}/timeline.svg?${forPeople()}`;
  const svg = await attempt(() => rest.get(path, 'blob'));
  if (svg) showBlob(byId('timeline'), svg);
  byId('report').scrollIntoView({ block: 'start' });
}

// -- rendering ----------------------------------------------------------------------------

function renderAll() {
  if (!rest) return;
  for (const el of document.querySelectorAll('[data-panel]'))
    el.hidden = el.dataset.panel !== state.tab;
  for (const el of document.querySelectorAll('[data-tab]'))
    el.setAttribute('aria-current', el.dataset.tab === state.tab ? 'page' : 'false');
  for (const el of document.querySelectorAll('[data-subpanel]'))
    el.hidden = el.dataset.subpanel !== state.sub;
  for (const el of document.querySelectorAll('[data-sub]'))
    el.setAttribute('aria-current', el.dataset.sub === state.sub ? 'page' : 'false');
  view.renderCourses(state.courses, state.course && state.course.id, act);
  view.renderTeachers(state.teachers, state.courses, act);
  byId('course').hidden = !state.course;
  if (!state.course) return;
  byId('course-heading').textContent = state.course.title;
  view.renderCourseActions(state.course, act);
  view.renderRoster(state.students, act);
  view.renderRosterPreview(state.rosterPreview && state.rosterPreview.preview);
  view.renderLessons(state.lessons, act);
  byId('report').hidden = !state.report || state.sub !== 'lessons';
  if (state.report) view.renderReport(state.report);
  if (state.matrix) view.renderMatrix(state.matrix);
}

function notice(text, kind = 'error') {
  flash(byId('notice'), text, 8000, kind);
}

/** The organizer's language and time zone, for the timeline and the spreadsheets. */
function forPeople() {
  const tz = Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
  return new URLSearchParams({ lang: language(), tz }).toString();
}

// -- controls -----------------------------------------------------------------------------

function onSubmit(id, fn) {
  byId(id).addEventListener('submit', async (event) => {
    event.preventDefault();
    await fn();
    renderAll();
  });
}

function bindControls() {
  onSubmit('login', () => signIn(byId('admin-key').value.trim()));
  byId('sign-out').addEventListener('click', () => {
    sessionSet(null);
    location.reload();
  });
  for (const el of document.querySelectorAll('[data-tab]')) {
    el.addEventListener('click', () => {
      state.tab = el.dataset.tab;
      renderAll();
    });
  }
  for (const el of document.querySelectorAll('[data-sub]')) {
    el.addEventListener('click', () => {
      state.sub = el.dataset.sub;
      renderAll();
    });
  }
  onSubmit('course-form', async () => {
    const course = await attempt(() =>
      rest.post('/api/courses', { title: byId('course-title').value.trim() }),
    );
    if (!course) return;
    byId('course-title').value = '';
    state.courses = [...state.courses, course];
    await openCourse(course);
  });
  onSubmit('roster-form', previewRoster);
  byId('roster-confirm').addEventListener('click', async () => {
    await importRoster();
    renderAll();
  });
  byId('roster-cancel').addEventListener('click', () => {
    state.rosterPreview = null;
    renderAll();
  });
  onSubmit('lesson-form', async () => {
    const body = {
      title: byId('lesson-title').value.trim(),
      allow_guests: byId('lesson-guests').checked,
    };
    const made = await attempt(() => rest.post(`/api/courses/${state.course.id}/lessons`, body));
    if (!made) return;
    byId('lesson-title').value = '';
    state.lessons = [...state.lessons, made];
  });
  onSubmit('teacher-form', async () => {
    const ids = [...byId('teacher-courses').querySelectorAll('input:checked')].map((i) => i.value);
    const body = { name: byId('teacher-name').value.trim(), course_ids: ids };
    const made = await attempt(() => rest.post('/api/teachers', body));
    if (!made) return;
    byId('teacher-name').value = '';
    state.teachers = (await attempt(() => rest.get('/api/teachers'))) || state.teachers;
  });
  bindDownloads('report', () => `/api/lessons/${state.report.lesson.id}/report`);
  bindDownloads('matrix', () => `/api/courses/${state.course.id}/report`);
}

/** Three downloads: .xlsx and a CSV for people (language, time zone), the plain CSV. */
function bindDownloads(prefix, base) {
  const name = () => base().split('/')[3];
  byId(`${prefix}-xlsx`).addEventListener('click', () =>
    download(`${base()}.xlsx?${forPeople()}`, `${name()}.xlsx`),
  );
  byId(`${prefix}-excel-csv`).addEventListener('click', () =>
    download(`${base()}.csv?excel=1&${forPeople()}`, `${name()}.csv`),
  );
  byId(`${prefix}-csv`).addEventListener('click', () => download(`${base()}.csv`, `${name()}.csv`));
}

const XLSX = 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet';

/** The chosen file (bytes as they are: the server detects encoding and separator) or text. */
function rosterFile() {
  const file = byId('roster-file').files[0];
  if (file) return { data: file, type: /\.xlsx$/i.test(file.name) ? XLSX : 'text/csv' };
  const text = byId('roster-csv').value;
  return text.trim() ? { data: text, type: 'text/csv' } : null;
}

/** First a dry run: the organizer sees what will be created and what is wrong. */
async function previewRoster() {
  const file = rosterFile();
  if (!file) return;
  const path = `/api/courses/${state.course.id}/students?dry_run=1`;
  const preview = await attempt(() => rest.request('POST', path, { file }));
  state.rosterPreview = preview ? { preview, file } : null;
}

async function importRoster() {
  const { file } = state.rosterPreview;
  const path = `/api/courses/${state.course.id}/students`;
  const added = await attempt(() => rest.request('POST', path, { file }));
  if (!added) return;
  state.rosterPreview = null;
  byId('roster-csv').value = '';
  byId('roster-file').value = '';
  state.students =
    (await attempt(() => rest.get(`/api/courses/${state.course.id}/students`))) || state.students;
  notice(t('org.imported', { n: added.length }), 'ok');
}

async function download(path, filename) {
  const blob = await attempt(() => rest.get(path, 'blob'));
  if (blob) saveBlob(blob, filename);
}

function sessionGet() {
  try {
    return sessionStorage.getItem(KEY);
  } catch {
    return null;
  }
}

function sessionSet(value) {
  try {
    if (value) sessionStorage.setItem(KEY, value);
    else sessionStorage.removeItem(KEY);
  } catch {
    /* storage blocked: the key lasts until the page is closed */
  }
}

main();
