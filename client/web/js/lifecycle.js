/**
 * The page's life around a lesson connection: visibility, deliberate closing, the network
 * coming and going, a screen wake lock while in a lesson, and the end of a lesson: whichever
 * way the page stops being in it, every camera, microphone and screen track stops at once.
 * No socket code: it only calls the connection's methods and listens to it.
 */
import { releaseDevices } from './devices.js';

const LISTEN_CHECK_MS = 10000;

/**
 * Bind once per page; `current` returns the lesson connection of the moment (or null).
 * Call `follow(conn)` on each new connection, `take()` to keep the screen on.
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
  // Hidden for good: closed, navigated away, kept in the back/forward cache, or frozen by
  // the phone. Leaving finishes the connection, which stops the devices (below).
  const hiddenForGood = () => current()?.leave();
  window.addEventListener('pagehide', hiddenForGood);
  document.addEventListener('freeze', hiddenForGood);
  // Brought back from the cache or thawed: the lesson was left, so come in again.
  window.addEventListener('pageshow', (event) => event.persisted && location.reload());
  document.addEventListener('resume', () => location.reload());
  window.addEventListener('offline', () => current()?.networkLost());
  return {
    take: () => wake.take(),
    /** Every way out of a lesson ends in the connection's 'finished': the one place. */
    follow(conn) {
      conn.on('finished', () => {
        releaseDevices();
        wake.release();
      });
    },
  };
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
