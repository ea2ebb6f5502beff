/**
 * Polls on the student page: the open polls and the published results, answered for each
 * learner on this phone (the protocol's `learner` field). Page logic only: the socket is the
 * LessonConnection's, the rendering is poll_view.js's.
 */
import { byId } from './dom.js';
import { errorText, onLanguage } from './i18n.js';

/** Refusals after which an answer is kept and sent again once the device has joined again. */
export const RETRY = ['offline', 'timeout', 'not-joined'];

/**
 * @typedef {{learners: () => Map<string, {id: string, name: string}>,
 *            notice: (text: string) => void}} StudentPage
 */

/**
 * Follow the lesson's polls on this connection and render them into #polls.
 * @param {import('./protocol.js').LessonConnection} conn @param {StudentPage} page
 */
export function bindPolls(conn, page) {
  /** @type {Map<number, import('./poll_view.js').Poll>} */
  const polls = new Map();
  /** `${poll}/${learner}` -> what this phone answered (the server's snapshot does not say) */
  const mine = new Map();
  /** `${poll}/${learner}` -> a typed answer or picked options not sent yet */
  const drafts = new Map();
  const hidden = new Set();
  let who = null;
  /** poll_view.js, loaded with the first poll (many lessons have none: the page stays light) */
  let view = null;
  let loading = null;
  let reveal = null; // a poll just opened: scroll it into sight once drawn
  const key = (pollId, pid) => `${pollId}/${pid}`;

  function learners() {
    return [...page.learners().values()];
  }

  /** What is shown: every open poll, and the newest other one (closed, or its results). */
  function shown() {
    const all = [...polls.values()].sort((a, b) => b.poll_id - a.poll_id);
    const newestDone = all.find((p) => p.closed);
    return all.filter((p) => !hidden.has(p.poll_id) && (!p.closed || p === newestDone));
  }

  function render() {
    if (!view) {
      if (shown().length && !loading) {
        loading = import('./poll_view.js')
          .then(
            (module) => {
              view = module;
              render();
            },
            () => {},
          ) // offline: tried again with the next event or the next join
          .finally(() => (loading = null));
      }
      return;
    }
    const people = learners();
    if (!people.some((l) => l.id === who)) who = people.length ? people[0].id : null;
    view.renderPolls(
      byId('polls'),
      {
        polls: shown(),
        learners: people,
        who,
        mine: (pollId, pid) => mine.get(key(pollId, pid)),
        draft: (pollId, pid) => drafts.get(key(pollId, pid)),
      },
      { answer, pick, draft, hide },
    );
    const card = reveal && byId('polls').querySelector(`[data-poll="${reveal}"]`);
    if (card) card.scrollIntoView({ block: 'nearest', behavior: 'smooth' });
    reveal = null;
  }

  async function answer(poll, value, pid = who) {
    const k = key(poll.poll_id, pid);
    mine.set(k, { answer: value, status: 'sending' });
    render();
    const ack = await conn.call('poll_answer', {
      poll_id: poll.poll_id,
      answer: value,
      learner: pid,
    });
    const code = ack.ok ? null : ack.error.code;
    if (ack.ok) {
      mine.set(k, { answer: value, status: 'sent' });
      drafts.delete(k);
      nextLearner(poll);
    } else if (RETRY.includes(code)) {
      mine.set(k, { answer: value, status: 'pending' });
    } else if (code === 'already-answered') {
      mine.set(k, { status: 'sent' }); // answered earlier (before a reload): the server keeps it
    } else {
      mine.set(k, { answer: value, status: 'failed', error: errorText(ack.error) });
      if (code === 'poll-closed') poll.closed = true;
    }
    render();
  }

  /** On a shared phone, hand the poll to the next learner who has not answered it. */
  function nextLearner(poll) {
    const waiting = learners().find((l) => !mine.has(key(poll.poll_id, l.id)));
    if (waiting) who = waiting.id;
  }

  function pick(pid) {
    who = pid;
    render();
  }

  function draft(poll, value) {
    drafts.set(key(poll.poll_id, who), value);
    if (poll.kind === 'multiple') render(); // typed drafts stay in their input
  }

  function hide(poll) {
    hidden.add(poll.poll_id);
    render();
  }

  /** Answers the network swallowed: send them again now that the device is back. */
  function resend() {
    for (const [k, m] of mine) {
      if (m.status !== 'pending') continue;
      const [pollId, pid] = k.split('/');
      const poll = polls.get(Number(pollId));
      if (poll && !poll.closed && page.learners().has(pid)) answer(poll, m.answer, pid);
    }
  }

  function fromSnapshot(snap, primary) {
    if (primary) polls.clear();
    for (const p of snap.polls) {
      polls.set(p.poll_id, { ...p, closed: p.closed || Boolean(p.results) });
    }
    render();
    if (primary) resend();
  }

  conn.on('welcome', (ack) => {
    if (!ack.waiting) fromSnapshot(ack.snapshot, ack.primary);
  });
  conn.on('admitted', (snapshot) => fromSnapshot(snapshot, true));
  conn.on('poll_opened', (p) => {
    polls.set(p.poll_id, p);
    hidden.clear();
    reveal = p.poll_id;
    render();
    if (navigator.vibrate) navigator.vibrate(120);
  });
  conn.on('poll_closed', (d) => update(d.poll_id, { closed: true }));
  conn.on('poll_results', (tally) => {
    hidden.delete(tally.poll_id);
    update(tally.poll_id, { closed: true, results: tally });
  });
  for (const name of ['removed', 'replaced', 'learner_added']) conn.on(name, () => render());
  onLanguage(render);

  function update(pollId, change) {
    const poll = polls.get(pollId);
    if (!poll) return;
    Object.assign(poll, change);
    render();
  }
}
