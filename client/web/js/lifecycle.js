/**
 * The page's life around a lesson connection: visibility, deliberate closing, the network
 * coming and going, and a screen wake lock while in a lesson. No socket code: it only calls
 * the connection's methods.
 */

const LISTEN_CHECK_MS = 10000;

/**
 * Bind once per page; `current` returns the lesson connection of the moment (or null).
 * @param {() => ({setVisible: (v: boolean, listening: boolean) => void, leave: () => void,
 *                 networkLost: () => void} | null)} current
 */
export function bindLifecycle(current) {
  const wake = new WakeLock();
  const report = () => {
    const visible = document.visibilityState === 'visible';
    current()?.setVisible(visible, !visible && playingSound());
    return visible;
  };
  document.addEventListener('visibilitychange', () => {
    if (report() && current()) wake.take();
  });
  // In the background the sound may start or stop (the teacher's microphone): say so.
  setInterval(() => document.visibilityState === 'hidden' && report(), LISTEN_CHECK_MS);
  window.addEventListener('pagehide', (event) => {
    if (!event.persisted) current()?.leave();
  });
  window.addEventListener('offline', () => current()?.networkLost());
  return wake;
}

/**
 * Whether the page is playing the lesson's sound: an <audio> element playing a live track.
 * @returns {boolean}
 */
export function playingSound() {
  return [...document.querySelectorAll('audio')].some((el) => {
    const stream = /** @type {MediaStream|null} */ (el.srcObject);
    const live = stream && stream.getAudioTracks().some((t) => t.readyState === 'live');
    return Boolean(live) && !el.paused && !el.muted;
  });
}

/** Keeps the screen on while the page is in front (where the browser allows it). */
class WakeLock {
  constructor() {
    this.sentinel = null;
  }

  async take() {
    if (!('wakeLock' in navigator) || this.sentinel) return;
    try {
      this.sentinel = await navigator.wakeLock.request('screen');
      this.sentinel.addEventListener('release', () => {
        this.sentinel = null;
      });
    } catch {
      this.sentinel = null; // not allowed now (e.g. battery saver): the lesson goes on anyway
    }
  }

  release() {
    if (this.sentinel) this.sentinel.release();
  }
}
