/**
 * What arrives out of the student's sight on a phone, where the pictures fill most of the
 * screen: a "new ↓" chip when chat arrives below the visible part, polls and quizzes brought
 * into view as they open, and one polite announcement for screen readers (instead of live
 * regions that would repeat a whole list or a countdown at every change). Rendering only.
 */
import { byId } from './dom.js';
import { t, formatNumber } from './i18n.js';

let unseen = 0;

/** Bind once: the chip, and the watch on the classwork sections. */
export function bindAttention() {
  byId('new-below').addEventListener('click', showLatestChat);
  const seenNow = () => {
    if (unseen && latestChatVisible()) clearChip();
  };
  window.addEventListener('scroll', seenNow, { passive: true });
  byId('chat-list').addEventListener('scroll', seenNow, { passive: true });
  watchClasswork(byId('polls'), 'poll', 'announce.poll');
  watchClasswork(byId('quizzes'), 'quiz', 'announce.quiz');
}

/** Say `text` once to a screen reader (the region is visually hidden). */
export function announce(text) {
  const region = byId('announce');
  region.textContent = '';
  // A change in a later task is what makes the same words be read again.
  setTimeout(() => (region.textContent = text), 50);
}

/** A chat message has been rendered: if the student cannot see it, say there is news. */
export function chatArrived(message) {
  announce(t('announce.chat', { name: message.author_name, text: message.text }));
  if (latestChatVisible()) return;
  unseen += 1;
  renderChip();
}

/** Language changed: the chip's words too. */
export function renderChip() {
  const chip = byId('new-below');
  chip.hidden = !unseen;
  chip.textContent = t('new.below', { n: formatNumber(unseen) });
}

function clearChip() {
  unseen = 0;
  renderChip();
}

function latestChatVisible() {
  const list = byId('chat-list');
  const last = list.lastElementChild;
  if (!last || byId('lesson').hidden) return true;
  const item = last.getBoundingClientRect();
  const box = list.getBoundingClientRect();
  const bottom = Math.min(box.bottom, visibleBottom());
  const top = Math.max(box.top, headerBottom());
  return item.top < bottom - 8 && item.bottom > top + 8;
}

/** Where the page stops being visible: the top of the fixed dock, or the window's bottom. */
function visibleBottom() {
  const dock = byId('dock');
  return dock.hidden ? window.innerHeight : dock.getBoundingClientRect().top;
}

function showLatestChat() {
  const list = byId('chat-list');
  list.scrollTop = list.scrollHeight;
  const below = list.getBoundingClientRect().bottom - visibleBottom() + 8;
  const header = headerBottom();
  const above = header - list.getBoundingClientRect().top + 8;
  if (below > 0) window.scrollBy({ top: below });
  else if (above > 0) window.scrollBy({ top: -above });
  clearChip();
}

/**
 * A poll or quiz card that was not there before is announced and brought into view (the
 * cards are rendered whole on each change; only new ids count).
 * @param {HTMLElement} box @param {'poll'|'quiz'} kind @param {string} key
 */
function watchClasswork(box, kind, key) {
  const seen = new Set();
  new MutationObserver(() => {
    for (const card of box.querySelectorAll(`[data-${kind}]`)) {
      const id = card.getAttribute(`data-${kind}`);
      if (seen.has(id)) continue;
      seen.add(id);
      announce(t(key));
      if (!inView(card)) bringIntoView(card);
    }
  }).observe(box, { childList: true });
}

function headerBottom() {
  return byId('title').closest('header').getBoundingClientRect().bottom;
}

function inView(el) {
  const r = el.getBoundingClientRect();
  return r.top >= headerBottom() && r.top < visibleBottom() - 80;
}

/** Its top just under the sticky header (whose height changes with banners and notices). */
function bringIntoView(el) {
  window.scrollBy({ top: el.getBoundingClientRect().top - headerBottom() - 8 });
}
