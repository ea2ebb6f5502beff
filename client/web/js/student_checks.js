/**
 * The attendance check on the student page: the teacher opens one (check_started), each
 * learner on this phone answers before its deadline, it closes (check_closed). A check
 * reaching a phone in the background cues it: a short sound over the lesson's (Web Audio) and
 * a notification where the browser allows one, so that a learner listening with the screen
 * locked can unlock and answer in time. Page logic only; the drawing is in student_view.js.
 */
import { t, errorText } from './i18n.js';
import { announce } from './attention.js';
import * as view from './student_view.js';

let ticker = 0;
/**
 * @type {{state: any, conn: () => any, notice: (text: string) => void,
 *         renderAll: () => void}|null}
 */
let page = null;

/** Once per page: the page's state and how to reach its connection and render it. */
export function bindChecks(pageParts) {
  page = pageParts;
}

/** A check opens and closes on this connection. */
export function followChecks(conn) {
  conn.on('check_started', started);
  conn.on('check_closed', closed);
}

function started(d) {
  const state = page.state;
  for (const l of state.learners.values()) {
    if (!l.checks.some((c) => c.check_id === d.check_id)) {
      l.checks.push({ check_id: d.check_id, result: 'open', response_ms: null });
    }
  }
  setOpenCheck(d, d.started_at);
  announce(t('check.prompt'));
  if (navigator.vibrate) navigator.vibrate(200);
  if (document.visibilityState === 'hidden') cue(t('check.prompt'), t('check.notify'));
  page.renderAll();
}

function closed(d) {
  const state = page.state;
  for (const l of state.learners.values()) {
    for (const c of l.checks)
      if (c.check_id === d.check_id && c.result === 'open') c.result = 'missed';
  }
  if (state.openCheck && state.openCheck.check_id === d.check_id) setOpenCheck(null, null);
  page.renderAll();
}

/** The check open now (null: none); `startedAt` by the server's clock, if known. */
export function setOpenCheck(check, startedAt) {
  const state = page.state;
  clearInterval(ticker);
  state.openCheck = check;
  if (!check) return;
  state.localDeadline = check.deadline + state.skew;
  state.windowMs = startedAt ? check.deadline - startedAt : state.localDeadline - Date.now();
  ticker = setInterval(() => view.tickCheck(state), 250);
}

/** One learner on this phone answers the open check. */
export async function answer(pid) {
  const state = page.state;
  const check = state.openCheck;
  if (!check) return;
  state.answering.add(pid);
  view.renderCheck(state, answer);
  const ack = await page.conn().answerCheck(check.check_id, pid);
  state.answering.delete(pid);
  const l = state.learners.get(pid);
  const mine = l && l.checks.find((c) => c.check_id === check.check_id);
  if (ack.ok && mine) Object.assign(mine, { result: 'answered', response_ms: ack.response_ms });
  else if (!ack.ok) page.notice(errorText(ack.error));
  page.renderAll();
}

// -- the cue ------------------------------------------------------------------------------

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
