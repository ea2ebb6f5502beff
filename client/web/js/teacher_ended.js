/**
 * The teacher page once a lesson is over (ended here or elsewhere): not an error. The teacher
 * sees who came, from the lesson's report, and can download it for the spreadsheet.
 * Page logic only; the drawing is in teacher_view.js.
 */
import { byId, saveBlob } from './dom.js';
import { errorText, language } from './i18n.js';
import * as view from './teacher_view.js';

/** @type {{info: any, report: any}|null} the ended lesson shown (null: none) */
let ended = null;
/** @type {{rest: any, notice: (text: string) => void}|null} */
let page = null;

/** Once per page: the download buttons, and `back` for the button back to the lessons. */
export function bindEnded(pageParts, back) {
  page = pageParts;
  byId('ended-back').addEventListener('click', back);
  const base = () => `/api/lessons/${ended.info.id}/report`;
  byId('ended-xlsx').addEventListener('click', () =>
    download(`${base()}.xlsx?${forPeople()}`, `${ended.info.id}.xlsx`),
  );
  byId('ended-csv').addEventListener('click', () =>
    download(`${base()}.csv?excel=1&${forPeople()}`, `${ended.info.id}.csv`),
  );
}

export function isEnded() {
  return ended !== null;
}

export function leaveEnded() {
  ended = null;
}

/** Show the ended lesson, then its report once it comes. */
export async function showEnded(info) {
  byId('ended').hidden = false;
  ended = { info, report: null };
  renderEnded();
  try {
    ended.report = await page.rest.get(`/api/lessons/${info.id}/report`);
  } catch (err) {
    page.notice(errorText(err));
  }
  renderEnded();
  byId('ended').scrollIntoView({ block: 'start' });
}

export function renderEnded() {
  if (ended) view.renderEnded(ended.info, ended.report);
}

/** The organizer's language and time zone, for the downloads. */
function forPeople() {
  const tz = Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
  return new URLSearchParams({ lang: language(), tz }).toString();
}

async function download(path, filename) {
  try {
    saveBlob(await page.rest.get(path, 'blob'), filename);
  } catch (err) {
    page.notice(errorText(err));
  }
}
