/**
 * Live media over WebRTC (docs/protocol.md, "Media"): a Subscriber receives what the server
 * forwards; the Publisher (media_send.js) uses what both sides share from here: the candidate
 * trickle and the retry rules. Signaling goes through the LessonConnection (protocol.js).
 * No DOM code here.
 */
import { Emitter } from './protocol.js';

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

const STATS_MS = 1000;

/**
 * What this device receives: one connection on the server's offer of five m-lines (MIDS);
 * the mode says which of them the server feeds. Events: 'track' ({mid, track}), 'flow'
 * (Map mid -> bool: media is arriving), 'state' (connection state), 'error', 'data' (bytes
 * this lesson's media connections carried, both ways, these included).
 */
export class Subscriber extends Emitter {
  constructor(conn, { iceServers = [] } = {}) {
    super();
    this.conn = conn;
    this.iceServers = iceServers;
    this.mode = 'none';
    /** @type {RTCPeerConnection|null} */
    this.pc = null;
    /** @type {Map<string, MediaStreamTrack>} */
    this.tracks = new Map();
    /** @type {Map<string, boolean>} */
    this.flow = new Map();
    this.counts = new Map();
    /** Bytes of the connections before this one (a reconnect starts the count again). */
    this.bytesBefore = 0;
    this.bytesNow = 0;
    this.busy = Promise.resolve();
    this.closed = false;
    this.retry = 0;
    this.ticker = setInterval(() => this.poll(), STATS_MS);
  }

  serial(job) {
    this.busy = this.busy.then(job).catch((err) => this.tell('error', errorOf(err)));
    return this.busy;
  }

  /** Start (or start again) with `mode`: 'video', 'audio' or 'none'. */
  start(mode) {
    this.mode = mode;
    return this.serial(async () => {
      const ack = await this.conn.call('media_subscribe', { mode });
      await this.accepted(ack);
    });
  }

  /** Change what is received, live; the server sends an offer only when it needs one. */
  setMode(mode) {
    this.mode = mode;
    return this.serial(async () => {
      if (!this.conn.joined) return; // sent after the reconnect (resync)
      const ack = await this.conn.call('media_mode', { mode });
      if (!ack.ok || ack.sdp) await this.accepted(ack);
    });
  }

  /** After a reconnect: keep a working connection, else the server offers a new one. */
  resync() {
    const pc = this.pc;
    if (!pc || ['failed', 'closed'].includes(pc.connectionState)) return this.start(this.mode);
    return this.setMode(this.mode);
  }

  async accepted(ack) {
    if (!ack.ok) {
      if (PASSING.includes(ack.error.code)) this.later();
      else this.tell('error', ack.error);
      return;
    }
    if (!ack.sdp) {
      this.drop();
      return;
    }
    await this.answer(ack.sdp);
  }

  async answer(offer) {
    this.drop();
    const pc = (this.pc = newConnection(this.iceServers));
    const trickle = new Trickle(this.conn, 'subscribe', {});
    pc.onicecandidate = (event) => trickle.add(event.candidate);
    pc.onconnectionstatechange = () => this.connectionChanged(pc);
    pc.ontrack = (event) => {
      const mid = event.transceiver.mid;
      this.tracks.set(mid, event.track);
      this.tell('track', { mid, track: event.track });
    };
    await pc.setRemoteDescription({ type: 'offer', sdp: offer });
    await pc.setLocalDescription(await pc.createAnswer());
    const ack = await this.conn.call('media_answer', { sdp: pc.localDescription.sdp });
    if (pc !== this.pc) return;
    if (!ack.ok) {
      this.drop();
      if (PASSING.includes(ack.error.code)) this.later();
      else this.tell('error', ack.error);
      return;
    }
    trickle.open();
  }

  connectionChanged(pc) {
    if (pc !== this.pc) return;
    this.tell('state', pc.connectionState);
    if (pc.connectionState === 'failed') this.later();
  }

  later() {
    clearTimeout(this.retry);
    this.retry = setTimeout(() => {
      if (!this.closed && this.conn.joined) this.start(this.mode);
    }, RETRY_MS);
  }

  drop() {
    if (this.pc) this.pc.close();
    this.pc = null;
    this.bytesBefore += this.bytesNow;
    this.bytesNow = 0;
    this.tracks.clear();
    this.counts.clear();
    this.setFlow(new Map());
  }

  close() {
    this.closed = true;
    clearInterval(this.ticker);
    clearTimeout(this.retry);
    this.drop();
  }

  /** Which m-lines have media arriving: decoded video frames, received audio packets. */
  async poll() {
    const pc = this.pc;
    if (!pc) return;
    const counts = await inboundCounts(pc);
    if (pc !== this.pc) return;
    this.bytesNow = counts.bytes;
    this.tell('data', this.bytesBefore + this.bytesNow);
    const flow = new Map();
    for (const [mid, n] of counts) flow.set(mid, n > (this.counts.get(mid) ?? n));
    this.counts = counts;
    this.setFlow(flow);
  }

  setFlow(flow) {
    const changed =
      flow.size !== this.flow.size || [...flow].some(([mid, on]) => this.flow.get(mid) !== on);
    this.flow = flow;
    if (changed) this.tell('flow', flow);
  }
}

/**
 * Per mid: video frames decoded, or audio packets received so far; and under 'bytes' what
 * the connection's transport carried both ways (media, retransmissions, RTCP, STUN).
 * @returns {Promise<Map<string, number> & {bytes: number}>}
 */
export async function inboundCounts(pc) {
  const counts = Object.assign(new Map(), { bytes: 0 });
  const byTrack = new Map(pc.getTransceivers().map((t) => [t.receiver.track.id, t.mid]));
  (await pc.getStats()).forEach((s) => {
    if (s.type === 'transport') counts.bytes += (s.bytesReceived || 0) + (s.bytesSent || 0);
    if (s.type !== 'inbound-rtp') return;
    const mid = s.mid ?? byTrack.get(s.trackIdentifier);
    if (mid == null) return;
    counts.set(mid, s.kind === 'video' ? s.framesDecoded || 0 : s.packetsReceived || 0);
  });
  return counts;
}
