/**
 * The student page's first request, loaded on its own (a small async module) so that it
 * starts while the page's other modules are still on their way: on a slow link asking
 * `/api/me` after them all costs a second. The page takes the answer from here.
 */
const fragment = decodeURIComponent(location.hash.slice(1));
const personal = Boolean(fragment) && !fragment.startsWith('code=');

/** The `/api/me` response for the personal link in the URL, already asked for (or null). */
export const me = personal
  ? fetch('/api/me', { headers: { Authorization: `Bearer ${fragment}` } })
  : null;
