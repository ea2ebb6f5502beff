/**
 * What this phone wants to receive: video, audio only ("radio mode") or nothing. Stored on
 * the device; the media code (to come) reads it and listens for changes.
 */

export const MODES = ['video', 'audio', 'none'];
const STORE_KEY = 'sabak.receive';
/** @type {Set<(mode: string) => void>} */
const listeners = new Set();
let current = load();

function load() {
  try {
    const stored = localStorage.getItem(STORE_KEY);
    return MODES.includes(stored) ? stored : 'video';
  } catch {
    return 'video'; // storage blocked: the choice lasts for this page only
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
