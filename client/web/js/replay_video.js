/**
 * Video on request in a replay: one plain <video> playing the recorded WebM segment that
 * covers the sound's moment (the screen share when there was one, else the camera), muted,
 * following the sound: a new segment when the moment leaves this one, a seek when it drifts.
 * A plain element per segment seeks at once inside a ~10 s file, with no MediaSource code.
 */

import { h } from './dom.js';

const DRIFT_S = 0.4;

export class VideoFollower {
  /** @param {HTMLElement} box @param {Record<string, any>} tracks */
  constructor(box, tracks) {
    this.box = box;
    this.screen = tracks['teacher-screen']?.segments || [];
    this.camera = tracks['teacher-camera']?.segments || [];
    this.el = /** @type {HTMLVideoElement} */ (h('video', { muted: true, playsinline: true }));
    this.el.muted = true;
    this.current = null;
    box.replaceChildren(this.el);
  }

  /** The segment of the screen (first) or camera at lesson time `at`. */
  segmentAt(at) {
    const inside = (s) => s.start <= at && at < s.end;
    return this.screen.find(inside) || this.camera.find(inside) || null;
  }

  /** Show what the sound plays now (lesson ms), playing or paused as it is. */
  follow(at, playing, rate) {
    const segment = this.segmentAt(at);
    if (!segment) {
      this.el.pause();
      this.el.hidden = true;
      this.current = null;
      return;
    }
    this.el.hidden = false;
    const offset = (at - segment.start) / 1000;
    if (segment !== this.current) {
      this.current = segment;
      this.el.src = segment.url;
      this.el.currentTime = offset;
    } else if (Math.abs(this.el.currentTime - offset) > DRIFT_S) {
      this.el.currentTime = offset;
    }
    this.el.playbackRate = rate;
    if (playing && this.el.paused) this.el.play().catch(() => {});
    if (!playing && !this.el.paused) this.el.pause();
  }

  stop() {
    this.el.pause();
    this.el.removeAttribute('src');
    this.box.replaceChildren();
  }
}
