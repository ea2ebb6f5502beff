/**
 * Reads one QR code with the phone's camera (where the browser has BarcodeDetector), for
 * adding a learner from their personal link. Loaded only when the button is tapped.
 */
import { h, fill } from './dom.js';
import { t } from './i18n.js';

/**
 * Show the camera in `box` until a QR code is seen or the user cancels.
 * @param {HTMLElement} box
 * @returns {Promise<string|null>} the code's text
 */
export async function scanOnce(box) {
  let stream;
  try {
    stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: 'environment' } });
  } catch {
    fill(box, h('p', { class: 'error', text: t('learners.no_camera') }));
    box.hidden = false;
    return null;
  }
  const video = h('video', { playsinline: true, muted: true });
  video.srcObject = stream;
  const detector = new window.BarcodeDetector({ formats: ['qr_code'] });
  return new Promise((resolve) => {
    let done = false;
    const finish = (text) => {
      done = true;
      for (const track of stream.getTracks()) track.stop();
      box.hidden = true;
      fill(box);
      resolve(text);
    };
    const cancel = h('button', {
      type: 'button',
      text: t('learners.cancel'),
      onclick: () => finish(null),
    });
    fill(box, video, cancel);
    box.hidden = false;
    video.play();
    const look = async () => {
      if (done) return;
      try {
        const codes = await detector.detect(video);
        if (codes.length) return finish(codes[0].rawValue);
      } catch {
        /* the frame was not ready: look again */
      }
      setTimeout(look, 300);
    };
    look();
  });
}
