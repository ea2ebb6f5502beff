/**
 * How learners come onto the student page: the first from the personal link (the server says
 * which live lesson it is for; the page waits while none has started) or, for a guest, from
 * the lesson code and a name typed in the form; more learners on a shared phone by pasting
 * their personal link, or scanning its QR code where the browser has `BarcodeDetector` (the
 * scanner is loaded only when used). Page logic only.
 */
import { byId, tokenOf } from './dom.js';
import { t, errorText } from './i18n.js';
import * as view from './student_view.js';

const POLL_MS = 10000;
const NAME_KEY = 'sabak.name';

/** @type {{state: {skew: number}, connect: (auth: object, lessonId: string|null) => void}|null} */
let page = null;

/** Once per page: the guest form, and how to connect once the lesson is known. */
export function bindEntry(pageParts) {
  page = pageParts;
  byId('guest-form').addEventListener('submit', (event) => {
    event.preventDefault();
    const name = byId('guest-name').value.trim();
    const code = byId('guest-code').value.trim().toUpperCase();
    if (!name || !code) return;
    store(NAME_KEY, name);
    page.connect({ guest_code: code, name }, null);
  });
}

export function askGuest(code) {
  byId('guest-code').value = code;
  byId('guest-name').value = stored(NAME_KEY) || '';
  view.showEntry('', true);
}

export function askMe(token) {
  return fetch('/api/me', { headers: { Authorization: `Bearer ${token}` } });
}

/** The media modules (a lesson's video and sound), asked for at once, not each after the
 * one that imports it: on a slow link each step of such a chain is a round trip. */
export function loadMedia() {
  import('./media.js');
  import('./media_view.js');
  return import('./student_media.js');
}

/** Ask the server which live lesson this personal link is for; wait if none has started. */
export async function findLesson(token, asked = askMe(token)) {
  let response;
  try {
    response = await asked;
  } catch {
    view.showEntry(t('conn.offline'));
    setTimeout(() => findLesson(token), POLL_MS);
    return;
  }
  const data = await response.json();
  const serverDate = Date.parse(response.headers.get('Date') || '');
  if (serverDate) page.state.skew = Date.now() - serverDate - 500; // whole seconds: the middle
  if (!response.ok) return view.showEntry(errorText(data.error));
  if (data.role === 'teacher') return location.replace(`/teach#${token}`);
  if (!data.lessons.length) {
    view.showEntry(t('lesson.not_started', { name: data.name }));
    setTimeout(() => findLesson(token), POLL_MS);
    return;
  }
  loadMedia(); // fetched while the socket connects; used once joined
  page.connect({ token }, data.lessons[0].id);
}

/**
 * Another learner on this (shared) phone.
 * @param {() => any} current the lesson connection of the moment (or null)
 */
export function bindLearnerAdd(current) {
  const add = async (link) => {
    const token = tokenOf(link);
    const conn = current();
    if (!token || !conn) return;
    const ack = await conn.addLearner(token);
    byId('add-error').textContent = ack.ok ? '' : errorText(ack.error);
    if (ack.ok) byId('add-link').value = '';
  };
  byId('add-form').addEventListener('submit', (event) => {
    event.preventDefault();
    add(byId('add-link').value);
  });
  if (!('BarcodeDetector' in window)) return;
  const scan = byId('scan');
  scan.hidden = false;
  scan.addEventListener('click', async () => {
    const { scanOnce } = await import('./scan.js');
    const text = await scanOnce(byId('scanner'));
    if (text) {
      byId('add-link').value = text;
      add(text);
    }
  });
}

function stored(key) {
  try {
    return localStorage.getItem(key);
  } catch {
    return null;
  }
}

function store(key, value) {
  try {
    localStorage.setItem(key, value);
  } catch {
    /* private mode */
  }
}
