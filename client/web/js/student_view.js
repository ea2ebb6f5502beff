/**
 * What the student page shows: header, attendance-check prompt, the learner's own record,
 * the learners on this phone, the dock (chat and hand) and the media placeholder.
 * Rendering only: no socket code; actions go out through the callbacks it is given.
 */
import { h, fill, byId } from './dom.js';
import { t, formatNumber, onLanguage } from './i18n.js';

/**
 * @typedef {{check_id: number, result: string, response_ms: number|null}} CheckResult
 * @typedef {{id: string, name: string, checks: CheckResult[], hand: number|null,
 *            muted: boolean}} Learner
 * @typedef {{lesson: any, count: number, chatLocked: boolean, learners: Map<string, Learner>,
 *            primary: string|null, as: string|null, openCheck: any, localDeadline: number,
 *            windowMs: number, answering: Set<string>}} StudentState
 */

/** @param {StudentState} s */
export function renderHeader(s) {
  byId('title').textContent = s.lesson ? s.lesson.title : t('page.title');
  const count = byId('count');
  count.hidden = !s.lesson;
  count.textContent = t('lesson.present', { n: formatNumber(s.count) });
  // Plainly, on every page: the lesson is being recorded (or will be again, once it can).
  const rec = byId('rec');
  rec.hidden = !s.lesson || !s.recording || s.recording === 'off';
  rec.textContent = t(s.recording === 'failed' ? 'recording.paused' : 'recording.on');
}

/** The open check's prompt: one button per learner on this phone who has not answered. */
export function renderCheck(s, onAnswer) {
  const box = byId('check');
  const waiting = s.openCheck ? [...s.learners.values()].filter((l) => isOpen(l, s)) : [];
  box.hidden = !waiting.length;
  const several = s.learners.size > 1;
  fill(
    byId('check-buttons'),
    ...waiting.map((l) =>
      h('button', {
        type: 'button',
        class: 'primary big',
        'data-learner': l.id,
        disabled: s.answering.has(l.id),
        text: several ? t('check.here_named', { name: l.name }) : t('check.here'),
        onclick: () => onAnswer(l.id),
      }),
    ),
  );
  tickCheck(s);
}

function isOpen(learner, s) {
  const mine = learner.checks.find((c) => c.check_id === s.openCheck.check_id);
  return !mine || mine.result === 'open';
}

/** Move the countdown on (called a few times a second while a check is open). */
export function tickCheck(s) {
  if (!s.openCheck) return;
  const left = Math.max(0, s.localDeadline - Date.now());
  byId('check-progress').value = s.windowMs ? left / s.windowMs : 0;
  byId('check-left').textContent = t('check.left', { n: formatNumber(Math.ceil(left / 1000)) });
}

/** Each learner's own attendance record, from the snapshot and what happened since. */
export function renderRecord(s) {
  const several = s.learners.size > 1;
  const blocks = [...s.learners.values()].map((l) => {
    const rows = l.checks.map((c, i) =>
      h(
        'li',
        { class: `result ${c.result}` },
        t('record.check', { n: i + 1 }),
        ' — ',
        resultText(c),
      ),
    );
    if (!rows.length) rows.push(h('li', { class: 'muted', text: t('record.none') }));
    return h(
      'div',
      {},
      several ? h('h3', { text: l.name }) : null,
      h('ul', { class: 'plain' }, ...rows),
    );
  });
  fill(byId('record-body'), ...blocks);
}

function resultText(c) {
  if (c.result === 'answered' && c.response_ms !== null) {
    return t('record.answered_in', { s: formatNumber(c.response_ms / 1000, 1) });
  }
  return t(`record.${c.result}`);
}

/** The learners on this phone. */
export function renderLearners(s) {
  const items = [...s.learners.values()].map((l) =>
    h(
      'li',
      {},
      l.name,
      l.id === s.primary ? h('span', { class: 'tag', text: t('learners.first') }) : null,
    ),
  );
  fill(byId('learner-list'), ...items);
}

/**
 * The dock: who is acting (on a shared phone), the hand button, the chat box's state.
 * @param {StudentState} s
 * @param {boolean} handQueued a raise made offline that waits to be sent
 */
export function renderDock(s, handQueued) {
  const as = byId('as');
  byId('as-row').hidden = s.learners.size < 2;
  fill(as, ...[...s.learners.values()].map((l) => new Option(l.name, l.id, false, l.id === s.as)));
  const me = s.learners.get(s.as);
  const hand = byId('hand');
  hand.dataset.raised = me && me.hand !== null ? 'yes' : 'no';
  if (handQueued) hand.textContent = t('hand.queued');
  else if (me && me.hand !== null) hand.textContent = t('hand.lower', { n: me.hand });
  else hand.textContent = t('hand.raise');
  const muted = Boolean(me && me.muted);
  const input = byId('chat-text');
  input.disabled = muted;
  input.placeholder = muted ? t('chat.muted') : t('chat.placeholder');
  byId('chat-locked').hidden = !s.chatLocked;
  const to = byId('chat-to');
  if (s.chatLocked) to.value = 'teacher';
  to.options[0].disabled = s.chatLocked;
}

/**
 * The note where the teacher's video will be: "connecting to the video…" until the video's
 * connection is up (media_view marks it on the body), then what the receive mode shows.
 */
export function renderMedia(mode) {
  document.body.dataset.receive = mode;
  const linked = document.body.dataset.videoLink === 'connected';
  const key = mode === 'video' && !linked ? 'media.connecting' : `media.${mode}`;
  byId('media-note').textContent = t(key);
  for (const input of document.querySelectorAll('input[name="receive"]')) {
    input.checked = input.value === mode;
  }
}

/** A full-page message instead of the lesson (not started, ended, removed, refused...). */
export function showEntry(message, withGuestForm = false) {
  byId('lesson').hidden = true;
  byId('count').hidden = true; // nobody is counted on an ended or refused screen
  delete byId('entry-message').dataset.i18n; // the server's first words, replaced now
  byId('dock').hidden = true;
  byId('waiting').hidden = true;
  byId('entry').hidden = false;
  byId('entry-message').textContent = message;
  byId('entry-message').hidden = !message;
  byId('guest-form').hidden = !withGuestForm;
}

/** After a recorded lesson: its replay, opened with this same personal link. */
export function showReplayLink(lessonId) {
  const href = `/replay?lesson=${encodeURIComponent(lessonId)}${location.hash}`;
  byId('entry').append(h('a', { id: 'replay-link', href, text: t('end.replay') }));
}

/** Show the lesson (or a guest's waiting room). */
export function showLesson(waiting) {
  byId('entry').hidden = true;
  byId('waiting').hidden = !waiting;
  byId('lesson').hidden = waiting;
  byId('dock').hidden = waiting;
}

/** The screen share (often the slide) can fill the phone's screen, and come back. */
export function bindEnlarge() {
  const screen = byId('teacher-screen');
  const button = byId('enlarge');
  const render = () => {
    const big = screen.classList.contains('enlarged');
    button.setAttribute('aria-pressed', big ? 'true' : 'false');
    button.textContent = t(big ? 'media.shrink' : 'media.enlarge');
  };
  const set = (big) => {
    screen.classList.toggle('enlarged', big);
    document.body.classList.toggle('screen-enlarged', big);
    if (big && screen.requestFullscreen) {
      // A slide is wide: turn it sideways where the phone allows it (full screen only).
      const turn = () => window.screen.orientation?.lock?.('landscape').catch(() => {});
      screen.requestFullscreen().then(turn, () => {});
    }
    if (!big && document.fullscreenElement) document.exitFullscreen().catch(() => {});
    render();
  };
  button.addEventListener('click', () => set(!screen.classList.contains('enlarged')));
  // Leaving full screen by the phone's back gesture makes it small again too.
  document.addEventListener('fullscreenchange', () => {
    if (!document.fullscreenElement && screen.classList.contains('enlarged')) set(false);
  });
  new MutationObserver(() => screen.hidden && screen.classList.contains('enlarged') && set(false))
    .observe(screen, { attributes: true, attributeFilter: ['hidden'] });
  onLanguage(render);
  render();
}
