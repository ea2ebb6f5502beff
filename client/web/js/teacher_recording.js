/**
 * The teacher's recording control: the pill every page shows, the start/stop button, and the
 * notice when writing failed (the lesson goes on; the server resumes by itself).
 */
import { byId } from './dom.js';
import { t, errorText } from './i18n.js';

/** @type {{state: string, reason: string}} */
const recording = { state: 'off', reason: '' };

/** Show the state; `told` marks news (a failure or a recovery) that deserves a notice. */
export function setRecording(r, notice, told = false) {
  const was = recording.state;
  recording.state = r ? r.state : 'off';
  recording.reason = r ? r.reason : '';
  renderRecording();
  if (!told || !notice) return;
  if (recording.state === 'failed') {
    notice(t(`recording.failed_${recording.reason.replace(/-/g, '_')}`));
  } else if (recording.state === 'on' && was === 'failed') notice(t('recording.resumed'));
}

export function renderRecording() {
  const on = recording.state !== 'off';
  const pill = byId('rec');
  pill.hidden = !on;
  pill.textContent = t(recording.state === 'failed' ? 'recording.paused' : 'recording.on');
  const button = byId('rec-toggle');
  button.textContent = t(on ? 'recording.stop' : 'recording.start');
  button.setAttribute('aria-pressed', String(on));
}

/** @param {() => any} conn the lesson's connection now; @param {(s: string) => void} notice */
export function bindRecording(conn, notice) {
  byId('rec-toggle').addEventListener('click', async () => {
    const c = conn();
    if (!c) return;
    const ack =
      recording.state === 'off'
        ? await c.call('recording_start', {})
        : await c.call('recording_stop', {});
    if (!ack.ok) notice(errorText(ack.error));
  });
}
