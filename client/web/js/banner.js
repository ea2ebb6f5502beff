/** The connection-state banner shown on every lesson page. */
import { t } from './i18n.js';

/**
 * @param {HTMLElement} banner
 * @param {string} state 'connecting' | 'online' | 'reconnecting' | 'closed'
 * @param {number} queued how many actions wait to be sent
 */
export function renderBanner(banner, state, queued = 0) {
  document.body.dataset.conn = state;
  const offline = typeof navigator.onLine === 'boolean' && !navigator.onLine;
  banner.hidden = state === 'online' || state === 'closed';
  banner.className = `banner ${state}`;
  if (state === 'connecting') banner.textContent = t('conn.connecting');
  if (state === 'reconnecting') {
    const base = t(offline ? 'conn.offline' : 'conn.reconnecting');
    banner.textContent = queued ? `${base} ${t('conn.queued', { n: queued })}` : base;
  }
}
