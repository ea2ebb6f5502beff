/**
 * The replay page (/replay?lesson=<id>#<personal token>; an organizer's tab uses the admin
 * key it holds): the lesson's sound by default (one Ogg Opus file, seekable with Range), the
 * teacher's video on request, the moments of the lesson appearing as the sound reaches them,
 * the board (deck page and strokes) as it was at that time, speeds with the pitch kept, and
 * "my gaps" to jump to each stretch the learner missed.
 */

import { h, byId, fill } from './dom.js';
import {
  addCatalogue,
  bindLanguageSelect,
  errorText,
  onLanguage,
  preferredLanguage,
  setLanguage,
  t,
} from './i18n.js';
import { clock, momentText, size } from './replay_moments.js';
import { VideoFollower } from './replay_video.js';

const ORGANIZER_KEY = 'sabak.adminKey'; // where the organizer page keeps it (sessionStorage)
const lessonId = new URLSearchParams(location.search).get('lesson') || '';
const key = decodeURIComponent(location.hash.slice(1)) || organizerKey();
const sound = /** @type {HTMLAudioElement} */ (byId('sound'));
/** @type {any} */
let manifest = null;
let origin = 0; // the lesson-clock time (ms) of the sound's first sample
/** @type {VideoFollower|null} */
let video = null;
/** @type {any} the board's follower, once its module came (only when the lesson showed one) */
let board = null;

async function main() {
  await setLanguage(preferredLanguage());
  await addCatalogue('replay');
  bindLanguageSelect(byId('lang'));
  onLanguage(render);
  if (!key || !lessonId) return say(t('replay.open_link'));
  try {
    const path = `/api/lessons/${encodeURIComponent(lessonId)}/recording`;
    const response = await fetch(path, { headers: { Authorization: `Bearer ${key}` } });
    const body = await response.json();
    if (!response.ok) return say(errorText(body.error));
    manifest = body;
  } catch {
    return say(t('error.internal'));
  }
  if (!manifest.audio) return say(t('replay.none'));
  origin = manifest.audio.start;
  sound.src = manifest.audio.url;
  sound.preservesPitch = true;
  bindControls();
  if (manifest.board?.length) {
    const { ReplayBoard } = await import('./replay_board.js');
    board = new ReplayBoard(byId('board'), manifest.board);
  }
  render();
  byId('status').hidden = true;
  byId('player').hidden = false;
}

function say(text) {
  const status = byId('status');
  status.removeAttribute('data-i18n');
  status.textContent = text;
}

/** Now, on the lesson clock. */
const now = () => origin + sound.currentTime * 1000;

function seek(lessonMs) {
  sound.currentTime = Math.max(0, (lessonMs - origin) / 1000);
  sound.play().catch(() => {});
}

function bindControls() {
  for (const radio of document.querySelectorAll('input[name=speed]')) {
    radio.addEventListener('change', () => {
      sound.playbackRate = Number(/** @type {HTMLInputElement} */ (radio).value);
      sound.preservesPitch = true;
    });
  }
  for (const event of ['timeupdate', 'seeked', 'play', 'pause']) {
    sound.addEventListener(event, step);
  }
  const button = byId('video');
  const tracks = manifest.tracks;
  const segments = [...(tracks['teacher-screen']?.segments || []),
    ...(tracks['teacher-camera']?.segments || [])];
  button.hidden = !segments.length;
  button.addEventListener('click', () => {
    const on = !video;
    button.setAttribute('aria-pressed', String(on));
    byId('screen').hidden = !on;
    if (video) video.stop();
    video = on ? new VideoFollower(byId('screen'), tracks) : null;
    step();
    renderButton();
  });
}

/** The moments up to now appear; the video follows the sound. */
function step() {
  const at = now();
  for (const li of byId('moments').children) {
    li.toggleAttribute('data-future', Number(li.dataset.t) > at + 250);
  }
  video?.follow(at, !sound.paused, sound.playbackRate);
  board?.follow(at);
}

function render() {
  if (!manifest) return;
  byId('title').removeAttribute('data-i18n');
  byId('title').textContent = manifest.lesson.title;
  renderButton();
  const audioBytes = (manifest.tracks.audio?.segments || []).reduce((n, s) => n + s.bytes, 0);
  const link = byId('download');
  link.href = manifest.audio.download_url;
  link.textContent = t('replay.download', { size: size(audioBytes) });
  renderMoments();
  renderGaps();
  step();
}

function renderButton() {
  byId('video').textContent = t(video ? 'replay.audio_only' : 'replay.video');
}

function renderMoments() {
  const rows = manifest.events.map((m) =>
    h('li', { 'data-t': m.t, onclick: () => seek(m.t) },
      h('time', { text: clock(m.t - origin) }), momentText(m)),
  );
  fill(byId('moments'), ...rows);
  byId('moments-card').hidden = !rows.length;
}

function renderGaps() {
  const gaps = manifest.gaps;
  const student = key && !organizerKey();
  byId('gaps-card').hidden = !student;
  const rows = gaps.map((g) => h('li', {},
    h('button', { type: 'button', 'data-from': g.from, onclick: () => seek(g.from),
      text: t('replay.gap', { at: clock(g.from - origin), duration: clock(g.to - g.from) }) })));
  fill(byId('gaps'), ...(rows.length ? rows : [h('li', { text: t('replay.no_gaps') })]));
}

function organizerKey() {
  try {
    return sessionStorage.getItem(ORGANIZER_KEY) || '';
  } catch {
    return '';
  }
}

main();
