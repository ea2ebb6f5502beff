/**
 * The people of the live lesson on the teacher page: the roster, the raised hands, the waiting
 * room and attaching a guest to a course student, and what the teacher's buttons on them do.
 * Page logic only; the drawing is in teacher_view.js.
 */
import { byId } from './dom.js';
import { t, errorText } from './i18n.js';
import * as view from './teacher_view.js';
import { decorateRoster } from './teacher_media.js';

/**
 * participants: id -> participant; hands: the queue; roster: the course's students;
 * attachTo: the guest being attached to a student (null: none).
 */
export const people = { participants: new Map(), hands: [], roster: [], attachTo: null };
/** @type {{conn: () => any, notice: (text: string) => void}} */
let page = { conn: () => null, notice: () => {} };

/** Once per page: the attach form, and how to reach the current connection. */
export function bindRoster(pageParts) {
  page = pageParts;
  byId('attach').addEventListener('submit', async (event) => {
    event.preventDefault();
    const student = byId('attach-student').value;
    const payload = { participant_id: people.attachTo.id, student_id: student };
    const ack = await page.conn().call('learner_attach', payload);
    if (!ack.ok) page.notice(errorText(ack.error));
    people.attachTo = null;
    renderPeople();
  });
  byId('attach-cancel').addEventListener('click', () => {
    people.attachTo = null;
    renderPeople();
  });
}

/** A lesson opens: the course's students come over REST, the people over its connection. */
export function followPeople(conn, rest, courseId) {
  people.roster = [];
  rest.get(`/api/courses/${courseId}/students`).then(
    (roster) => {
      people.roster = roster;
      renderPeople();
    },
    () => {},
  );
  conn.on('participant', (p) => {
    people.participants.set(p.id, p);
    renderPeople();
  });
  conn.on('hands', (d) => {
    people.hands = d.queue;
    renderPeople();
  });
}

/** The people in a join snapshot (drawn by the page's next full render). */
export function welcomePeople(snap) {
  people.participants = new Map(snap.participants.map((p) => [p.id, p]));
  people.hands = snap.hands;
}

export function renderPeople() {
  view.renderRoster(people.participants, people.roster, people.hands, act);
  decorateRoster();
  view.renderHands(people.hands, act);
  view.renderWaiting(people.participants, act);
  view.renderAttach(people.attachTo, people.roster, people.participants, act);
}

/** What the teacher's buttons on a person do. */
async function act(action, data) {
  if (action === 'attach-to') {
    people.attachTo = data;
    return renderPeople();
  }
  if (action === 'remove' && !confirm(t('teach.confirm_remove', { name: data.name }))) return;
  const calls = {
    mute: () => ['chat_mute', data],
    remove: () => ['participant_remove', { participant_id: data.id }],
    lower: () => ['hand_lower', { participant_id: data.id }],
    admit: () => ['guest_admit', { participant_id: data.id }],
    deny: () => ['guest_deny', { participant_id: data.id }],
  };
  const ack = await page.conn().call(...calls[action]());
  if (!ack.ok) page.notice(errorText(ack.error));
}
