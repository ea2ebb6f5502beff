/**
 * An attendance check reaching a phone in the background: a short sound over the lesson's
 * (Web Audio) and a notification where the browser allows one, so that a learner listening
 * with the screen locked can unlock and answer in time.
 */

/** @type {AudioContext|null} */
let audio = null;

function context() {
  const Ctx = window.AudioContext || /** @type {any} */ (window).webkitAudioContext;
  if (!audio && Ctx) audio = new Ctx();
  return audio;
}

/** Create the sound's context at a tap: browsers let a context made then play later. */
export function armCue() {
  const arm = () => context()?.resume().catch(() => {});
  document.addEventListener('pointerdown', arm, { once: true, capture: true });
}

/** Ask once whether the page may show notifications (call from a tap or a choice). */
export function askToNotify() {
  if ('Notification' in window && Notification.permission === 'default') {
    Notification.requestPermission().catch(() => {});
  }
}

/** Two short high tones, then a notification if allowed. */
export function cue(title, body) {
  const ctx = context();
  if (ctx) {
    if (ctx.state === 'suspended') ctx.resume().catch(() => {});
    for (const at of [0, 0.3]) {
      const tone = ctx.createOscillator();
      const gain = ctx.createGain();
      tone.frequency.value = 880;
      gain.gain.value = 0.25;
      tone.connect(gain).connect(ctx.destination);
      tone.start(ctx.currentTime + at);
      tone.stop(ctx.currentTime + at + 0.18);
    }
  }
  if ('Notification' in window && Notification.permission === 'granted') {
    try {
      new Notification(title, { body, tag: 'sabak-check' });
    } catch {
      // Chrome on Android shows notifications only through a service worker: the sound stays.
    }
  }
}
