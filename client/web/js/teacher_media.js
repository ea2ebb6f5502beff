/**
 * The teacher page's media: publish the microphone, camera and screen (each on and off),
 * hear and see a student who has the floor, offer the floor from the roster (the student
 * accepts or declines), take it back, and show what each participant receives. After a
 * reconnect it publishes again by itself.
 */
import { Subscriber, MIDS } from './media.js';
import { Publisher } from './media_send.js';
import { Players } from './media_view.js';
import { buildPanel, renderPanel, decorateRoster as decorate } from './teacher_media_view.js';
import { t, errorText, onLanguage } from './i18n.js';

const RECEIVING_MS = 4000;
/** @type {TeacherMedia|null} */
let session = null;

/**
 * Start the media of a lesson's connection (before `conn.start()`); replaces the last one.
 * @param {any} conn the LessonConnection
 * @param {{notice: (text: string) => void, participants: () => Map<string, any>}} page
 */
export function bindTeacherMedia(conn, page) {
  if (session) session.close();
  session = new TeacherMedia(conn, page);
}

/** The roster was drawn again: add the floor buttons and reception tags to its rows. */
export function decorateRoster() {
  if (session) session.decorate();
}

class TeacherMedia {
  constructor(conn, page) {
    this.conn = conn;
    this.page = page;
    this.card = document.querySelector('[data-media="teacher-publish"]');
    this.onAct = (action, data) => this.act(action, data);
    this.parts = buildPanel(this.card, this.onAct);
    this.players = new Players(this.card);
    this.floorVideo = this.players.element(MIDS.floorCamera, 'video', this.parts.floorMedia);
    this.players.element(MIDS.floorMic, 'audio', this.parts.floorMedia);
    this.publisher = new Publisher(conn, { kinds: ['mic', 'camera', 'screen'], layers: true });
    this.sub = null;
    /** @type {Map<string, boolean>} who has the floor -> with camera */
    this.floor = new Map();
    /** @type {Set<string>} offered the floor, no answer yet */
    this.offers = new Set();
    /** @type {string|null} who declined last (shown until the next offer) */
    this.declined = null;
    this.receiving = new Map();
    this.flow = new Map();
    this.closed = false;
    this.polling = setInterval(() => this.pollReceiving(), RECEIVING_MS);

    this.publisher.on('state', () => this.render());
    this.publisher.on('tracks', () => this.render());
    this.publisher.on('error', (error) => page.notice(errorText(error)));
    conn.on('welcome', (ack) => ack.primary && this.welcome(ack));
    conn.on('floor', (d) => this.floorChanged(d));
    conn.on('finished', () => this.close());
    conn.on('media_restart', () => {
      // The server's media forwarding restarted: our connections there are gone.
      if (this.closed) return;
      if (this.sub) this.sub.start(this.sub.mode);
      this.publisher.republish();
    });
    onLanguage(() => this.render());
    this.render();
  }

  welcome(ack) {
    if (this.closed) return;
    const iceServers = ack.ice_servers || [];
    this.publisher.iceServers = iceServers;
    this.floor = new Map((ack.snapshot.floor || []).map((f) => [f.participant_id, f.camera]));
    this.offers = new Set((ack.snapshot.floor_offers || []).map((f) => f.participant_id));
    if (!this.sub) {
      // The teacher receives too: the microphone and camera of whoever has the floor.
      this.sub = new Subscriber(this.conn, { iceServers });
      this.sub.on('track', ({ mid, track }) => {
        const el = this.players.elements.get(mid);
        if (el) this.players.attach(el, track);
      });
      this.sub.on('flow', (flow) => {
        this.flow = flow;
        this.render();
      });
      this.sub.on('error', (error) => this.page.notice(errorText(error)));
      this.sub.start('video');
    } else {
      this.sub.iceServers = iceServers;
      this.sub.resync();
      this.publisher.republish(); // the server dropped our media with the old connection
    }
    this.render();
    this.pollReceiving();
  }

  floorChanged(d) {
    const pid = d.participant_id;
    if (d.given) this.floor.set(pid, d.camera);
    else this.floor.delete(pid);
    if (d.state === 'offered') this.offers.add(pid);
    else this.offers.delete(pid);
    if (d.state === 'declined') this.declined = pid;
    else if (d.state === 'offered' || pid === this.declined) this.declined = null;
    this.render();
  }

  /** Per participant: 'given', 'offered' (waiting for the student) or 'declined'. */
  floorStates() {
    const states = new Map();
    if (this.declined) states.set(this.declined, 'declined');
    for (const pid of this.offers) states.set(pid, 'offered');
    for (const pid of this.floor.keys()) states.set(pid, 'given');
    return states;
  }

  async act(action, data) {
    if (action === 'toggle') {
      try {
        await this.publisher.toggle(data);
      } catch {
        this.page.notice(errorText({ code: 'media-denied' }));
      }
      return;
    }
    const ack =
      action === 'floor_give'
        ? await this.conn.call('floor_give', {
            participant_id: data,
            camera: this.parts.floorCamera.checked,
          })
        : await this.conn.call('floor_take', { participant_id: data });
    if (!ack.ok) this.page.notice(errorText(ack.error));
  }

  async pollReceiving() {
    if (this.closed || !this.conn.joined || document.visibilityState !== 'visible') return;
    const ack = await this.conn.call('media_receiving');
    if (!ack.ok) return;
    this.receiving = new Map(Object.entries(ack.receiving));
    this.decorate();
  }

  render() {
    if (this.closed) return;
    // The floor box shows one student: who has the floor, else who was asked or declined.
    const states = [...this.floorStates()];
    const [id, floorState] = states.find(([, s]) => s === 'given') || states.at(-1) || [];
    const who = id && this.page.participants().get(id);
    const floor = id ? { id, name: who ? who.name : '', state: floorState } : null;
    const state = this.publisher.state;
    const floorFlowing = Boolean(this.flow.get(MIDS.floorCamera));
    this.floorVideo.hidden = !floorFlowing;
    const tracks = this.publisher.tracks;
    renderPanel(this.parts, { tracks, state, floor, floorFlowing }, this.onAct);
    this.players.renderTap();
    this.decorate();
  }

  decorate() {
    if (this.closed) return;
    decorate(this.page.participants(), this.floorStates(), this.receiving, this.onAct);
  }

  close() {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.polling);
    this.publisher.stop(false);
    if (this.sub) this.sub.close();
    this.players.close();
    this.parts.status.textContent = t('teach.media_off');
  }
}
