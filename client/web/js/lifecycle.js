/**
 * The page's life around a lesson connection: visibility, deliberate closing, the network
 * coming and going, and a screen wake lock while in a lesson. No socket code: it only calls
 * the connection's methods.
 */

/**
 * Bind once per page; `current` returns the lesson connection of the moment (or null).
 * @param {() => ({setVisible: (v: boolean) => void, leave: () => void,
 *                 networkLost: () => void} | null)} current
 */
export function bindLifecycle(current) {
  const wake = new WakeLock();
  document.addEventListener('visibilitychange', () => {
    const visible = document.visibilityState === 'visible';
    current()?.setVisible(visible);
    if (visible && current()) wake.take();
  });
  window.addEventListener('pagehide', (event) => {
    if (!event.persisted) current()?.leave();
  });
  window.addEventListener('offline', () => current()?.networkLost());
  return wake;
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
