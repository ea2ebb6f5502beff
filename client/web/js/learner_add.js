/**
 * Adding a learner to a shared phone: paste their personal link, or scan its QR code where
 * the browser has `BarcodeDetector` (the scanner is loaded only when used).
 */
import { byId, tokenOf } from './dom.js';
import { errorText } from './i18n.js';

/** @param {() => any} current the lesson connection of the moment (or null) */
export function bindLearnerAdd(current) {
  const add = async (link) => {
    const token = tokenOf(link);
    const conn = current();
    if (!token || !conn) return;
    const ack = await conn.addLearner(token);
    byId('add-error').textContent = ack.ok ? '' : errorText(ack.error);
    if (ack.ok) byId('add-link').value = '';
  };
  byId('add-form').addEventListener('submit', (event) => {
    event.preventDefault();
    add(byId('add-link').value);
  });
  if (!('BarcodeDetector' in window)) return;
  const scan = byId('scan');
  scan.hidden = false;
  scan.addEventListener('click', async () => {
    const { scanOnce } = await import('./scan.js');
    const text = await scanOnce(byId('scanner'));
    if (text) {
      byId('add-link').value = text;
      add(text);
    }
  });
}
