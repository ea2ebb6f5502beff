/**
 * Showing and playing received media: <video> and <audio> elements for tracks, the "tap to
 * hear" button when the browser refuses to start sound by itself, the student's stage
 * (teacher camera, screen, the floor's camera) and the bar shown to a student with the floor.
 * Rendering only: no socket code, no RTCPeerConnection.
 */
import { h, byId } from './dom.js';
import { t } from './i18n.js';
import { MIDS } from './media.js';

/** Media elements that play received tracks; sound needs a tap on some phones. */
export class Players {
  /** @param {HTMLElement} tapHost where the "tap to hear" button goes */
  constructor(tapHost) {
    /** @type {Map<string, HTMLMediaElement>} */
    this.elements = new Map();
    this.blocked = new Set();
    this.tap = h('button', {
      type: 'button',
      class: 'primary tap-to-hear',
      'data-media-tap': '',
      hidden: true,
      text: t('media.tap_to_hear'),
      onclick: () => this.playBlocked(),
    });
    tapHost.append(this.tap);
    // Any tap on the page is a gesture the browser accepts to start sound.
    this.onGesture = () => this.playBlocked();
    document.addEventListener('pointerdown', this.onGesture, true);
  }

  /** A <video> (muted: its sound comes through the audio elements) or an <audio>. */
  element(key, kind, host, cls = '') {
    let el = this.elements.get(key);
    if (!el) {
      el = h(kind, { class: cls, 'data-mid': key }); // play() is called: it can be refused
      el.playsInline = true;
      if (kind === 'video') el.muted = true;
      host.append(el);
      this.elements.set(key, el);
    }
    return el;
  }

  /** Show a track in an element (null: empty it). */
  attach(el, track) {
    const current = el.srcObject && el.srcObject.getTracks()[0];
    if (current === track) return;
    el.srcObject = track ? new MediaStream([track]) : null;
    if (track) this.play(el);
  }

  play(el) {
    const started = el.play();
    if (!started) return;
    started.then(
      () => this.unblock(el),
      (err) => {
        if (err && err.name === 'NotAllowedError') {
          this.blocked.add(el);
          this.renderTap();
        }
      },
    );
  }

  /** Called from a tap: the browser lets sound start now. */
  playBlocked() {
    for (const el of [...this.blocked]) if (el.srcObject) this.play(el);
  }

  unblock(el) {
    this.blocked.delete(el);
    this.renderTap();
  }

  renderTap() {
    this.tap.hidden = !this.blocked.size;
    this.tap.textContent = t('media.tap_to_hear');
  }

  close() {
    document.removeEventListener('pointerdown', this.onGesture, true);
    for (const el of this.elements.values()) {
      el.srcObject = null;
      el.remove();
    }
    this.elements.clear();
    this.tap.remove();
  }
}

/**
 * The student's stage: the teacher's camera in `teacher-video`, the screen in
 * `teacher-screen`, the floor's camera as a small picture over the teacher's, and the sound
 * of the teacher and of the floor.
 */
export class StudentStage {
  constructor() {
    this.video = document.querySelector('[data-media="teacher-video"]');
    this.screen = document.querySelector('[data-media="teacher-screen"]');
    this.players = new Players(this.video);
    /** Video mids with a decoded picture that getStats has not confirmed yet. */
    this.decoded = new Set();
    /** Video mids getStats has seen flowing (once it says they stopped, it has the say). */
    this.confirmed = new Set();
    this.flow = new Map();
    this.slots = {
      [MIDS.teacherMic]: this.players.element(MIDS.teacherMic, 'audio', this.video),
      [MIDS.teacherCamera]: this.players.element(MIDS.teacherCamera, 'video', this.video),
      [MIDS.teacherScreen]: this.players.element(MIDS.teacherScreen, 'video', this.screen),
      [MIDS.floorMic]: this.players.element(MIDS.floorMic, 'audio', this.video),
      [MIDS.floorCamera]: this.players.element(MIDS.floorCamera, 'video', this.video, 'pip'),
    };
    for (const [mid, el] of Object.entries(this.slots)) {
      // Shown at its first decoded frame, not a second or two later when getStats says so.
      if (el.tagName === 'VIDEO') el.addEventListener('loadeddata', () => this.framed(mid, el));
    }
    this.render(new Map());
  }

  framed(mid, el) {
    if (!el.videoWidth) return;
    this.decoded.add(mid);
    this.render(this.flow);
  }

  /** @param {string} mid @param {MediaStreamTrack|null} track */
  setTrack(mid, track) {
    const el = this.slots[mid];
    if (el) this.players.attach(el, track);
  }

  /** @param {Map<string, boolean>} flow which mids have media arriving */
  render(flow) {
    this.flow = flow;
    for (const mid of this.decoded) {
      if (flow.get(mid)) this.confirmed.add(mid);
      else if (this.confirmed.delete(mid)) this.decoded.delete(mid); // it stopped
    }
    const on = (mid) => Boolean(flow.get(mid)) || this.decoded.has(mid);
    this.video.dataset.state = on(MIDS.teacherCamera) ? 'playing' : 'waiting';
    this.screen.dataset.state = on(MIDS.teacherScreen) ? 'playing' : 'waiting';
    this.screen.hidden = !on(MIDS.teacherScreen);
    this.slots[MIDS.teacherCamera].hidden = !on(MIDS.teacherCamera);
    this.slots[MIDS.floorCamera].hidden = !on(MIDS.floorCamera);
    byId('media-note').hidden = on(MIDS.teacherCamera);
    this.video.dataset.hearing = on(MIDS.teacherMic) || on(MIDS.floorMic) ? 'yes' : 'no';
  }

  close() {
    this.players.close();
    this.decoded.clear();
    this.render(new Map());
  }
}

/**
 * The teacher's offer of the floor, asked on the phone before anything is captured: what is
 * offered, that the microphone starts muted, and accept / decline.
 * @param {{camera: boolean, name: string|null, recording?: boolean,
 *   onAnswer: (accept: boolean) => void}|null} offer
 *   null: no offer; name: whose offer on a shared phone (null: the phone's first learner)
 */
export function renderFloorPrompt(offer) {
  let box = byId('floor-prompt');
  if (!offer) {
    if (box) box.remove();
    return;
  }
  if (!box) {
    box = h('div', { id: 'floor-prompt', class: 'floor-prompt', role: 'alertdialog' });
    box.setAttribute('aria-labelledby', 'floor-prompt-title');
    byId('stage').prepend(box);
  }
  const title = t(offer.camera ? 'media.floor_offer_camera' : 'media.floor_offer');
  box.replaceChildren(
    h('strong', { id: 'floor-prompt-title', text: offer.name ? `${offer.name}: ${title}` : title }),
    h('p', { text: t('media.floor_offer_note') }),
    ...(offer.recording ? [h('p', { class: 'rec-note', text: t('recording.floor_note') })] : []),
    h(
      'div',
      { class: 'actions' },
      h('button', {
        type: 'button',
        class: 'primary',
        'data-floor-answer': 'accept',
        text: t('media.floor_accept'),
        onclick: () => offer.onAnswer(true),
      }),
      h('button', {
        type: 'button',
        'data-floor-answer': 'decline',
        text: t('media.floor_decline'),
        onclick: () => offer.onAnswer(false),
      }),
    ),
  );
}

/**
 * The bar a student with the floor sees: what is on, a button to mute the microphone and, if
 * the camera is allowed, their own picture.
 * @param {{camera: boolean, muted: boolean, track: MediaStreamTrack|null,
 *          onMute: () => void}|null} floor null: no floor
 */
export function renderFloorBar(floor) {
  let bar = byId('floor-bar');
  if (!floor) {
    if (bar) bar.remove();
    return;
  }
  if (!bar) {
    bar = h('div', { id: 'floor-bar', class: 'floor-bar', role: 'status' });
    byId('stage').prepend(bar);
  }
  const self = h('video', { class: 'self', hidden: !floor.track });
  self.muted = true;
  self.playsInline = true;
  if (floor.track) {
    self.srcObject = new MediaStream([floor.track]);
    self.play().catch(() => {});
  }
  bar.replaceChildren(
    self,
    h('strong', { text: t(floorText(floor)) }),
    h('button', {
      type: 'button',
      id: 'floor-mute',
      'aria-pressed': floor.muted ? 'true' : 'false',
      text: t(floor.muted ? 'media.unmute' : 'media.mute'),
      onclick: floor.onMute,
    }),
  );
}

function floorText(floor) {
  if (floor.muted) return floor.camera ? 'media.floor_muted_camera' : 'media.floor_muted';
  return floor.camera ? 'media.floor_on_camera' : 'media.floor_on';
}
