/**
 * The message catalogues (Kyrgyz, Russian, English): the language follows the browser, can
 * be switched and is remembered; dates and numbers are formatted with Intl for it.
 */

export const LANGUAGES = ['ky', 'ru', 'en'];
export const LANGUAGE_NAMES = { ky: 'Кыргызча', ru: 'Русский', en: 'English' };
const STORE_KEY = 'sabak.lang';
const CATALOGUES = new URL('../i18n/', import.meta.url);
// A page may load a part of the catalogue: <html data-words="student"> (server/page_text.py).
const PART = document.documentElement.dataset.words;

// Where the browser has no Kyrgyz formats, Russian ones are what people in Kyrgyzstan read.
const FORMAT_LOCALES = { ky: ['ky', 'ru'], ru: ['ru'], en: ['en'] };
let current = 'en';
/** @type {Record<string, string>} */
let messages = {};
/** Catalogues a module added (replay.json: words of the replay and catch-up, loaded late). */
const extras = new Set();
/** @type {Set<() => void>} */
const listeners = new Set();

/** The stored choice, else the first supported language the browser prefers, else Russian. */
export function preferredLanguage() {
  const stored = safeGet(STORE_KEY);
  if (LANGUAGES.includes(stored)) return stored;
  for (const tag of navigator.languages || [navigator.language || '']) {
    const base = String(tag).toLowerCase().split('-')[0];
    if (LANGUAGES.includes(base)) return base;
  }
  return 'ru';
}

/** Load a language's catalogue, translate the page, and tell the listeners. */
export async function setLanguage(code, remember = false) {
  const lang = LANGUAGES.includes(code) ? code : 'en';
  messages = written(lang) || (await (await fetch(catalogue(lang))).json());
  for (const name of extras) Object.assign(messages, await extraCatalogue(name, lang));
  current = lang;
  document.documentElement.lang = lang;
  if (remember) safeSet(STORE_KEY, lang);
  translate(document);
  for (const fn of listeners) fn();
}

/** The catalogue the server wrote into the page, if it is in `lang` (one request less). */
function written(lang) {
  const block = document.getElementById('words');
  return block && block.dataset.lang === lang ? JSON.parse(block.textContent) : null;
}

function catalogue(lang) {
  return new URL(`${lang}${PART ? `.${PART}` : ''}.json`, CATALOGUES);
}

export const language = () => current;

const extraCatalogue = (name, lang) =>
  fetch(new URL(`${name}.${lang}.json`, CATALOGUES)).then((r) => r.json());

/** Add a catalogue's words in the current language, and again on every change. */
export async function addCatalogue(name) {
  if (extras.has(name)) return;
  extras.add(name);
  Object.assign(messages, await extraCatalogue(name, current));
  translate(document);
}

/** Call `fn` after every language change (to render dynamic parts again). */
export function onLanguage(fn) {
  listeners.add(fn);
}

/**
 * The message `key` in the current language, with {name} placeholders filled in.
 * @param {string} key
 * @param {Record<string, string|number>} [vars]
 */
export function t(key, vars) {
  const text = messages[key] ?? key;
  if (!vars) return text;
  return text.replace(/\{(\w+)\}/g, (m, name) => (name in vars ? String(vars[name]) : m));
}

/**
 * A refusal for people: our own words for a known code, else the server's sentence.
 * @param {{code: string, message?: string}|undefined} error
 */
export function errorText(error) {
  if (!error) return t('error.internal');
  const key = `error.${error.code}`;
  return key in messages ? messages[key] : error.message || t('error.internal');
}

/** Fill every [data-i18n] element's text and [data-i18n-*] attribute under `root`. */
export function translate(root) {
  for (const el of root.querySelectorAll('[data-i18n]')) el.textContent = t(el.dataset.i18n);
  for (const attr of ['placeholder', 'aria-label', 'title', 'alt']) {
    const data = `i18n${attr.replace(/(^|-)(\w)/g, (m, d, c) => c.toUpperCase())}`;
    for (const el of root.querySelectorAll(`[data-i18n-${attr}]`)) {
      el.setAttribute(attr, t(el.dataset[data]));
    }
  }
  if (document.title && messages['page.title']) document.title = t('page.title');
}

/** A time of day (server ms) in the current language. */
export function formatTime(ms) {
  return new Intl.DateTimeFormat(FORMAT_LOCALES[current], {
    hour: '2-digit',
    minute: '2-digit',
  }).format(ms);
}

/** A date and time (server ms) in the current language. */
export function formatDateTime(ms) {
  if (!ms) return '—';
  const options = { dateStyle: 'medium', timeStyle: 'short' };
  return new Intl.DateTimeFormat(FORMAT_LOCALES[current], options).format(ms);
}

/** A number in the current language (`digits` after the decimal point at most). */
export function formatNumber(n, digits = 0) {
  return new Intl.NumberFormat(FORMAT_LOCALES[current], { maximumFractionDigits: digits }).format(
    n,
  );
}

/** A language switcher <select>: shows the current language, switches and remembers. */
export function bindLanguageSelect(select) {
  select.replaceChildren(
    ...LANGUAGES.map((code) => new Option(LANGUAGE_NAMES[code], code, false, code === current)),
  );
  select.addEventListener('change', () => setLanguage(select.value, true));
  onLanguage(() => {
    select.value = current;
  });
}

function safeGet(key) {
  try {
    return localStorage.getItem(key);
  } catch {
    return null;
  }
}

function safeSet(key, value) {
  try {
    localStorage.setItem(key, value);
  } catch {
    /* private mode: the choice lasts for this page only */
  }
}
