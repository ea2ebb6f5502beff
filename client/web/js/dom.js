/**
 * Tiny DOM helpers. Text goes in as text nodes (textContent), never parsed as HTML, so a
 * name or a chat message can never become markup.
 */

/**
 * Build an element: `h('button', {class: 'big', onclick: fn, text: 'Send'}, child, 'text')`.
 * Keys: class, text, on<event> (a function), hidden/disabled/checked/value (properties),
 * anything else becomes an attribute (never `style`, never an inline handler string).
 * @param {string} tag
 * @param {Record<string, any>} [props]
 * @param {...(Node|string|number|null|undefined|false)} children
 * @returns {HTMLElement}
 */
export function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'class') el.className = value;
    else if (key === 'text') el.textContent = String(value);
    else if (key.startsWith('on') && typeof value === 'function') {
      el.addEventListener(key.slice(2), value);
    } else if (['hidden', 'disabled', 'checked', 'value', 'selected'].includes(key)) {
      el[key] = value;
    } else el.setAttribute(key, String(value === true ? '' : value));
  }
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    el.append(typeof child === 'object' ? child : document.createTextNode(String(child)));
  }
  return el;
}

/** @param {string} id @returns {any} */
export const byId = (id) => document.getElementById(id);

/** Replace an element's children with the given nodes. */
export function fill(el, ...nodes) {
  el.replaceChildren(...nodes.filter(Boolean));
  return el;
}

/** Show or hide an element. */
export function show(el, visible) {
  el.hidden = !visible;
}

const flashTimers = new WeakMap();

/**
 * Show a text in an element for a while (a notice), restarting the clock on each call;
 * `kind` 'ok' says something went well (not in the error style).
 */
export function flash(el, text, ms = 6000, kind = 'error') {
  el.textContent = text;
  el.dataset.kind = kind;
  el.hidden = false;
  clearTimeout(flashTimers.get(el));
  flashTimers.set(el, setTimeout(() => (el.hidden = true), ms));
}

/** The token of a personal link (the part after #), or the text itself if it has no #. */
export function tokenOf(linkOrToken) {
  const text = String(linkOrToken || '').trim();
  const hash = text.indexOf('#');
  return hash >= 0 ? text.slice(hash + 1) : text;
}

/** Show a blob (an SVG picture fetched with a Bearer header) in an <img>. */
export function showBlob(img, blob) {
  if (img.src && img.src.startsWith('blob:')) URL.revokeObjectURL(img.src);
  img.src = URL.createObjectURL(blob);
}

/** Save a blob as a file (CSV downloads fetched with the Bearer header). */
export function saveBlob(blob, filename) {
  const a = h('a', { href: URL.createObjectURL(blob), download: filename, hidden: true });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 10000);
}
