/**
 * The organizer's corrections: rename, new links, erase and delete (docs/privacy.md). Each
 * action asks first (a native prompt or confirmation: nothing to download), calls the REST
 * API, and says what happened. Page logic only; the views render the buttons.
 */
import { t } from './i18n.js';

/**
 * @param {{rest: any, attempt: (fn: () => Promise<any>) => Promise<any>,
 *          notice: (text: string, kind?: string) => void, reload: () => Promise<void>}} page
 * @returns {Record<string, (data: any) => Promise<void>>}
 */
export function manageActions({ rest, attempt, notice, reload }) {
  const ask = (key, name) => window.confirm(t(key, { name }));
  async function rename(path, field, current) {
    const value = window.prompt(t('org.rename_prompt'), current);
    if (!value || !value.trim() || value.trim() === current) return;
    if (await attempt(() => rest().request('PATCH', path, { json: { [field]: value.trim() } })))
      await reload();
  }
  async function remove(path, confirmKey, name, done) {
    if (!ask(confirmKey, name)) return;
    const result = await attempt(() => rest().request('DELETE', path));
    if (!result) return;
    if (done) done(result);
    await reload();
  }
  async function rotate(path, name) {
    if (!ask('org.rotate_confirm', name)) return;
    if (!(await attempt(() => rest().post(path)))) return;
    notice(t('org.link_replaced', { name }), 'ok');
    await reload();
  }
  return {
    'student-rename': (s) => rename(`/api/students/${s.id}`, 'name', s.name),
    'student-rotate': (s) => rotate(`/api/students/${s.id}/rotate-link`, s.name),
    'student-erase': (s) =>
      remove(`/api/students/${s.id}`, 'org.erase_confirm', s.name, (r) =>
        notice(t('org.erased', { pseudonym: r.pseudonym }), 'ok'),
      ),
    'teacher-rename': (x) => rename(`/api/teachers/${x.id}`, 'name', x.name),
    'teacher-rotate': (x) => rotate(`/api/teachers/${x.id}/rotate-link`, x.name),
    'teacher-delete': (x) => remove(`/api/teachers/${x.id}`, 'org.delete_confirm', x.name),
    'teacher-courses': async ({ teacher, ids }) => {
      const body = { json: { course_ids: ids } };
      await attempt(() => rest().request('PATCH', `/api/teachers/${teacher.id}`, body));
      await reload();
    },
    'lesson-rename': (l) => rename(`/api/lessons/${l.id}`, 'title', l.title),
    'lesson-delete': (l) => remove(`/api/lessons/${l.id}`, 'org.delete_confirm', l.title),
    'recording-delete': (l) =>
      remove(`/api/lessons/${l.id}/recording`, 'org.delete_recording_confirm', l.title, () =>
        notice(t('org.recording_deleted'), 'ok'),
      ),
    'course-rename': (c) => rename(`/api/courses/${c.id}`, 'title', c.title),
    'course-delete': (c) =>
      remove(`/api/courses/${c.id}`, 'org.delete_course_confirm', c.title),
  };
}
