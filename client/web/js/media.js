/**
 * Live media over WebRTC (docs/protocol.md, "Media"): what sending (media_send.js, the
 * Publisher) and receiving (media_receive.js, the Subscriber) share: the server's mids, the
 * candidate trickle, the retry rules. Signaling goes through the LessonConnection
 * (protocol.js). No DOM code here.
 */

/** Refusals that pass by themselves: try again in a moment instead of telling the person. */
export const PASSING = ['offline', 'timeout', 'media-restarting', 'media-timeout'];

/** What the server's offer to a subscriber carries, by mid (media/slot.py SLOTS). */
export const MIDS = {
  teacherMic: '0',
  teacherCamera: '1',
  teacherScreen: '2',
  floorMic: '3',
  floorCamera: '4',
};

/** How long to wait before asking the server again after a passing refusal. */
export const RETRY_MS = 3000;

/** Send candidates only once the server has the description they belong to. */
export class Trickle {
  constructor(conn, direction, extra) {
    this.conn = conn;
    this.direction = direction;
    this.extra = extra;
    this.ready = false;
    this.pending = [];
  }

  add(candidate) {
    const json = candidate ? candidate.toJSON() : null;
    if (this.ready) this.send(json);
    else this.pending.push(json);
  }

  open() {
    this.ready = true;
    for (const json of this.pending.splice(0)) this.send(json);
  }

  send(candidate) {
    this.conn.call('media_ice', { direction: this.direction, candidate, ...this.extra });
  }
}

export function newConnection(iceServers) {
  return new RTCPeerConnection({ iceServers, bundlePolicy: 'max-bundle' });
}

/** A failure of the browser's WebRTC calls, told as an ack error. */
export function errorOf(err) {
  return { code: 'media-failed', message: String((err && err.message) || err) };
}
