/**
 * "What I missed": after a gap of 10 s or more the join reply names it (`missed`); this card
 * offers the teacher's sound for exactly that gap, with its length and size, at 1.5x so the
 * student catches up with the live lesson, and the chat and moments of the gap. Loaded only
 * when there is something to offer (not part of the student page's first load).
 */

import { h, byId } from './dom.js';
import { addCatalogue, t } from './i18n.js';
import { clock, size, momentText } from './replay_moments.js';

export const CATCH_UP_RATE = 1.5;

/**
 * @param {{from_ms: number, to_ms: number, url: string}} missed
 */
export async function offerCatchUp(missed) {
  let offer;
  try {
    const [response] = await Promise.all([fetch(missed.url), addCatalogue('replay')]);
    if (!response.ok) return;
    offer = await response.json();
  } catch {
    return; // offline again: the lesson itself matters more
  }
  byId('catch-up')?.remove();
  const card = h('section', { id: 'catch-up', class: 'card stack catch-up', role: 'region',
    'aria-label': t('catchup.heading') });
  const moments = offer.events.map((m) => h('li', { text: `${clock(m.t - offer.from_ms)} ${momentText(m)}` }));
  card.append(
    h('h2', { text: t('catchup.heading') }),
    h('p', { text: t('catchup.summary', { duration: clock(offer.duration_ms),
      size: size(offer.bytes) }) }),
    offer.audio_url ? player(offer.audio_url) : h('p', { text: t('catchup.no_audio') }),
    moments.length ? h('ul', { class: 'moments' }, ...moments) : null,
    h('button', { type: 'button', text: t('catchup.close'), onclick: () => card.remove() }),
  );
  byId('lesson').prepend(card);
}

function player(url) {
  const audio = h('audio', { controls: true, preload: 'none', src: url });
  audio.preservesPitch = true;
  audio.addEventListener('play', () => (audio.playbackRate = CATCH_UP_RATE));
  const listen = h('button', { type: 'button', class: 'primary', text: t('catchup.listen'),
    onclick: () => {
      audio.playbackRate = CATCH_UP_RATE;
      audio.play().catch(() => {});
    } });
  return h('div', { class: 'stack' }, listen, audio);
}
