/**
 * The student page's first script, loaded on its own (a small async module) so that it runs
 * while the page's other modules are still on their way:
 * - the style sheet: the server wrote the first screen's rules into the page and preloads
 *   the whole sheet; applied from here it never holds back the first paint;
 * - `/api/me` for the personal link: on a slow link asking it after the other modules costs
 *   a second. The page takes the answer from here.
 */
const sheet = document.createElement('link');
sheet.rel = 'stylesheet';
sheet.href = new URL('../css/app.css', import.meta.url).href;
document.head.append(sheet);

const fragment = decodeURIComponent(location.hash.slice(1));
const personal = Boolean(fragment) && !fragment.startsWith('code=');

/** The `/api/me` response for the personal link in the URL, already asked for (or null). */
export const me = personal
  ? fetch('/api/me', { headers: { Authorization: `Bearer ${fragment}` } })
  : null;
