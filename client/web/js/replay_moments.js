/** How the lesson's moments (chat, polls, checks, floor, screen, recording) read, and times. */

import { t } from './i18n.js';

/** m:ss (or h:mm:ss) of a duration in ms. */
export function clock(ms) {
  const s = Math.max(0, Math.round(ms / 1000));
  const mm = String(Math.floor((s % 3600) / 60));
  const ss = String(s % 60).padStart(2, '0');
  return s >= 3600 ? `${Math.floor(s / 3600)}:${mm.padStart(2, '0')}:${ss}` : `${mm}:${ss}`;
}

/** "160 KB", "1.2 MB" */
export function size(bytes) {
  if (bytes < 1e6) return t('catchup.kb', { n: Math.max(1, Math.round(bytes / 1000)) });
  return t('catchup.mb', { n: (bytes / 1e6).toFixed(1) });
}

/** One moment as a line of text. */
export function momentText(m) {
  switch (m.type) {
    case 'chat':
      return `${m.name}: ${m.text}`;
    case 'poll':
      return t('moment.poll', { question: m.question });
    case 'quiz':
      return t('moment.quiz', { title: m.title });
    case 'check':
      return t('moment.check');
    case 'floor':
      return t(m.given ? 'moment.floor_given' : 'moment.floor_taken', { name: m.name });
    case 'screen':
      return t(m.on ? 'moment.screen_on' : 'moment.screen_off');
    case 'recording':
      return t(`moment.${m.what}`);
    default:
      return t(`moment.${m.type}`);
  }
}
