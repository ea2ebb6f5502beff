/**
 * What this phone wants to receive: video, audio only ("radio mode") or nothing. Stored on
 * the device; the media code reads it and listens for changes. With no choice stored yet, a
 * browser in data-saver mode (navigator.connection.saveData) starts in radio mode.
 */

export const MODES = ['video', 'audio', 'none'];
const STORE_KEY = 'sabak.receive';
/** @type {Set<(mode: string) => void>} */
const listeners = new Set();
let current = load();

function load() {
  const start = navigator.connection && navigator.connection.saveData ? 'audio' : 'video';
  try {
    const stored = localStorage.getItem(STORE_KEY);
    return MODES.includes(stored) ? stored : start;
  } catch {
    return start; // storage blocked: the choice lasts for this page only
  }
}

/** @returns {string} 'video', 'audio' or 'none' */
export function receiveMode() {
  return current;
}

/** @param {string} mode */
export function setReceiveMode(mode) {
  if (!MODES.includes(mode) || mode === current) return;
  current = mode;
  try {
    localStorage.setItem(STORE_KEY, mode);
  } catch {
    /* kept in memory only */
  }
  for (const fn of listeners) fn(mode);
}

/** @param {(mode: string) => void} fn */
export function onReceiveMode(fn) {
  listeners.add(fn);
}
