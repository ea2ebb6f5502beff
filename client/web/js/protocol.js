/**
 * The lesson protocol (docs/protocol.md) over socket.io: connect, join, come back with the
 * resume token, heartbeats; the queue for what a learner does while offline is offline_queue.js.
 * No DOM code here: pages call the methods and listen with `on`.
 */
import { io } from '../vendor/socket.io.esm.min.js';
import { queueing, RETRY_MS, withLearner } from './offline_queue.js';

/** Events the server sends; each is passed on to listeners under the same name. */
export const SERVER_EVENTS = [
  'participant',
  'count',
  'chat',
  'chat_deleted',
  'chat_locked',
  'guest_entry',
  'chat_muted',
  'hands',
  'hand',
  'admitted',
  'removed',
  'lesson_ended',
  'replaced',
  'revoked',
  'check_started',
  'check_closed',
  'check_tally',
  'poll_opened',
  'poll_tally',
  'poll_closed',
  'poll_results',
  'quiz_started',
  'quiz_tally',
  'quiz_extended',
  'quiz_closed',
  'quiz_published',
  'learner_added',
  'floor',
  'media_restart',
  'recording',
];
const ACK_TIMEOUT_MS = 8000;
/** Refusals of a resume token after which the personal link (or guest code) is used again. */
const STALE_RESUME = ['token-expired', 'bad-token', 'link-revoked', 'wrong-lesson'];

/**
 * @typedef {import('./offline_queue.js').Ack} Ack
 * @typedef {'connecting'|'online'|'reconnecting'|'closed'} ConnState
 */

/** A few listeners by name: `on(name, fn)` adds one, `tell(name, data)` calls them. */
export class Emitter {
  constructor() {
    /** @type {Map<string, Set<Function>>} */
    this.listeners = new Map();
  }

  /** @param {string} name @param {(data: any) => void} fn */
  on(name, fn) {
    if (!this.listeners.has(name)) this.listeners.set(name, new Set());
    this.listeners.get(name).add(fn);
    return this;
  }

  /**
   * Call every listener, even after one throws: the end of a lesson must reach the code that
   * stops the camera. The error is thrown again afterwards, so it is still seen.
   * @param {string} name @param {any} [data]
   */
  tell(name, data) {
    for (const fn of this.listeners.get(name) || []) {
      try {
        fn(data);
      } catch (err) {
        queueMicrotask(() => {
          throw err;
        });
      }
    }
  }
}

/** One device's connection to one lesson (possibly speaking for several learners). */
export class LessonConnection extends queueing(Emitter) {
  /**
   * @param {{auth: object, lessonId?: string|null, url?: string}} options
   *   auth: {token} (a personal link) or {guest_code, name}
   */
  constructor({ auth, lessonId = null, url = '/' }) {
    super();
    this.original = auth;
    this.auth = auth;
    this.lessonId = lessonId;
    this.url = url;
    /** @type {ConnState} */
    this.state = 'connecting';
    this.joined = false;
    this.visible = true;
    this.listening = false;
    /** participant id -> token (personal link, or resume token) of the other learners here */
    this.addedLearners = new Map();
    /** @type {Set<string>} */
    this.learners = new Set();
    this.primary = null;
    this.heartbeatMs = 5000;
    this.finished = false;
    this.socket = null;
    this.beating = 0;
  }

  start() {
    const socket = io(this.url, {
      auth: (cb) => cb(this.auth),
      transports: ['websocket', 'polling'],
      tryAllTransports: true,
      reconnectionDelay: 500,
      reconnectionDelayMax: 3000,
      timeout: 10000,
    });
    this.socket = socket;
    socket.on('connect', () => this.joinAgain());
    socket.on('disconnect', (reason) => this.dropped(reason));
    socket.on('connect_error', (err) => this.refused(err));
    socket.io.on('reconnect_attempt', () => this.setState('reconnecting'));
    for (const name of SERVER_EVENTS) socket.on(name, (data) => this.received(name, data));
    return this;
  }

  /** @param {ConnState} state */
  setState(state) {
    if (this.state === state || (this.finished && state !== 'closed')) return;
    this.state = state;
    this.tell('state', state);
  }

  /** Send one event and wait for its ack; never buffered by socket.io while offline. */
  call(event, payload) {
    if (!this.socket || !this.socket.connected) {
      return Promise.resolve(refusal('offline'));
    }
    const args = payload === undefined ? [] : [payload];
    return new Promise((resolve) => {
      this.socket.timeout(ACK_TIMEOUT_MS).emit(event, ...args, (err, ack) => {
        resolve(err ? refusal('timeout') : ack);
      });
    });
  }

  async joinAgain() {
    const resuming = this.auth !== this.original;
    const payload = !resuming && this.lessonId ? { lesson_id: this.lessonId } : {};
    const ack = await this.call('join', payload);
    if (!ack.ok) {
      if (ack.error.code === 'timeout') {
        // The server is slow (or the ack got lost): ask again while still connected.
        setTimeout(() => {
          if (this.socket.connected && !this.joined && !this.finished) this.joinAgain();
        }, RETRY_MS);
      } else if (ack.error.code === 'already-joined') {
        this.networkLost(); // an earlier join went through unseen: start over on a new socket
      } else if (resuming && STALE_RESUME.includes(ack.error.code)) {
        this.auth = this.original; // away past the grace: come in with the link again
        this.networkLost();
      } else if (ack.error.code !== 'offline') {
        this.finish('refused', ack.error);
      }
      return;
    }
    this.auth = { token: ack.resume };
    this.heartbeatMs = (ack.heartbeat_s || 5) * 1000;
    this.joined = true;
    this.learners = new Set();
    this.welcomed(ack, true);
    for (const token of this.addedLearners.values()) {
      const again = await this.call('learner_add', { token });
      if (again.ok) this.welcomed(again, false);
    }
    this.startBeats();
    this.setState('online');
    if (!this.visible) this.sendVisibility();
    this.flush();
  }

  /** A join (or learner) ack: remember the learner, hand the snapshot to the page. */
  welcomed(ack, primary) {
    const you = ack.waiting ? ack.you : ack.snapshot.you;
    if (primary) this.primary = you.id;
    this.learners.add(you.id);
    this.tell('welcome', { ...ack, primary });
  }

  startBeats() {
    clearInterval(this.beating);
    this.beating = setInterval(() => {
      if (this.socket.connected) this.socket.volatile.emit('beat');
    }, this.heartbeatMs);
  }

  dropped(reason) {
    this.joined = false;
    clearInterval(this.beating);
    if (reason === 'io server disconnect' || reason === 'io client disconnect') {
      this.finish('disconnected');
    } else {
      this.setState('reconnecting');
    }
  }

  refused(err) {
    if (this.socket.active) {
      this.setState('reconnecting'); // a network failure: socket.io tries again by itself
      return;
    }
    const error = (err && err.data) || { code: 'refused', message: String(err && err.message) };
    if (this.auth !== this.original && STALE_RESUME.includes(error.code)) {
      this.auth = this.original; // the grace window is over: come in with the link again
      this.socket.connect();
      return;
    }
    this.finish('refused', error);
  }

  received(name, data) {
    let over = name === 'lesson_ended' ? name : null;
    if (name === 'removed' || name === 'replaced' || name === 'revoked') {
      this.learners.delete(data.participant_id);
      this.addedLearners.delete(data.participant_id);
      if (!this.learners.size) over = name;
    }
    if (name === 'learner_added') {
      // Put here by the teacher: only its resume token can bring this learner back.
      this.addedLearners.set((data.snapshot || data).you.id, data.resume);
      this.welcomed(data, false);
    }
    // Over for this device: finish first (the camera and microphone stop now, not when the
    // server gets round to disconnecting us), then tell the page why.
    if (over) this.finish(over);
    if (name === 'chat' || name === 'check_started' || name === 'quiz_started')
      this.tell('server_time', data.ts || data.started_at);
    this.tell(name, data);
  }

  /** The connection is over for good (ended, removed, refused, replaced, or closed): once. */
  finish(reason, error) {
    if (this.finished) return;
    this.finished = true;
    this.finishReason = reason;
    clearInterval(this.beating);
    clearTimeout(this.retryTimer);
    if (this.socket && (this.socket.connected || this.socket.active)) this.socket.disconnect();
    this.setState('closed');
    this.tell('finished', { reason, error });
  }

  // -- other actions, sent only when online ---------------------------------------------

  lowerHand(learner = null) {
    return this.call('hand_lower', withLearner({}, learner));
  }

  answerCheck(checkId, learner = null) {
    return this.call('check_answer', withLearner({ check_id: checkId }, learner));
  }

  /** Put another learner (their personal link token) on this device. */
  async addLearner(token) {
    const ack = await this.call('learner_add', { token });
    if (ack.ok) {
      const you = ack.snapshot ? ack.snapshot.you : ack.you;
      this.addedLearners.set(you.id, token);
      this.welcomed(ack, false);
    }
    return ack;
  }

  /**
   * The page went to the background (false) or came back (true); `listening`: in the
   * background, it plays the lesson's sound.
   */
  setVisible(visible, listening = false) {
    if (this.visible === visible && this.listening === listening) return;
    this.visible = visible;
    this.listening = listening;
    if (this.joined) this.sendVisibility();
  }

  sendVisibility() {
    const payload = { visible: this.visible, listening: this.listening };
    for (const learner of this.learners) this.call('visibility', withLearner(payload, learner));
  }

  /** A deliberate goodbye (the page is closing): leave first, so no network gap is recorded. */
  leave() {
    if (this.socket && this.socket.connected && this.joined) this.socket.emit('leave');
    this.finish('left');
  }

  /** The browser says the network is gone: stop trusting the socket, reconnect when back. */
  networkLost() {
    if (this.socket && this.socket.connected) this.socket.io.engine.close();
  }
}

/** @returns {Ack} */
function refusal(code) {
  return { ok: false, error: { code, message: '' } };
}
