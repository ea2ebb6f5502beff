/**
 * The student page's parts that wait until the lesson shows: polls, quizzes, the attendance
 * check and the "new ↓" chip. On a slow link every file before the lesson costs its bytes
 * ahead of the socket's (one queue) and a turn among the browser's six requests in flight;
 * these four are not needed to show the lesson. What a connection told before they loaded is
 * kept and given to them, in order, once they listen. Page logic only.
 */

/** Every event the late parts listen to (what is kept for them until they load). */
const EVENTS = [
  'welcome',
  'admitted',
  'learner_added',
  'removed',
  'replaced',
  'poll_opened',
  'poll_closed',
  'poll_results',
  'quiz_started',
  'quiz_extended',
  'quiz_closed',
  'quiz_published',
  'check_started',
  'check_closed',
];

/** @typedef {{polls: any, quiz: any, attention: any, checks: any}} Parts */

/** @type {((parts: Promise<Parts>) => void)|null} */
let start = null;
/** @type {Promise<Parts>} */
const loaded = new Promise((resolve) => (start = resolve));
/** @type {Parts|null} */
let parts = null;

/** Load the parts (once; call when the lesson shows). */
export function loadLate() {
  if (start) {
    const go = start;
    start = null;
    const files = [
      import('./polls.js'),
      import('./quiz.js'),
      import('./attention.js'),
      import('./student_checks.js'),
    ];
    go(
      Promise.all(files).then(
        ([polls, quiz, attention, checks]) => (parts = { polls, quiz, attention, checks }),
      ),
    );
  }
  return loaded;
}

/** The parts if loaded (null: not yet). */
export function lateParts() {
  return parts;
}

/** Run `fn` with the parts once they have loaded (at once, in order, if they have). */
export function withLate(fn) {
  loaded.then(fn);
}

/**
 * Keep what `conn` tells until the parts load; then `bind(parts, conn)` them (their `on`
 * noted) and give them what was kept, in the order it was told.
 */
export function followLate(conn, bind) {
  /** @type {Array<[string, any]>|null} */
  let past = [];
  for (const name of EVENTS) conn.on(name, (data) => past && past.push([name, data]));
  loaded.then((p) => {
    /** @type {Array<[string, Function]>} */
    const heard = [];
    const tap = new Proxy(conn, {
      get(target, key) {
        if (key === 'on') {
          return (name, fn) => {
            target.on(name, fn);
            heard.push([name, fn]);
            return tap;
          };
        }
        const value = Reflect.get(target, key);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
    bind(p, tap);
    const told = past || [];
    past = null;
    for (const [name, data] of told) for (const [n, fn] of heard) if (n === name) fn(data);
  });
}
