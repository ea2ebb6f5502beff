/**
 * Receiving live media (docs/protocol.md, "Media"): a Subscriber receives what the server
 * forwards, and watches which of it is arriving. No DOM code here.
 */
import { Emitter } from './emitter.js';
import { PASSING, RETRY_MS, Trickle, newConnection, errorOf } from './media.js';

const STATS_MS = 1000;

/**
 * What this device receives: one connection on the server's offer of five m-lines (MIDS);
 * the mode says which of them the server feeds. Events: 'track' ({mid, track}), 'flow'
 * (Map mid -> bool: media is arriving), 'state' (connection state), 'error'.
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
 * Per mid: video frames decoded, or audio packets received so far.
 * @returns {Promise<Map<string, number>>}
 */
export async function inboundCounts(pc) {
  const counts = new Map();
  const byTrack = new Map(pc.getTransceivers().map((t) => [t.receiver.track.id, t.mid]));
  (await pc.getStats()).forEach((s) => {
    if (s.type !== 'inbound-rtp') return;
    const mid = s.mid ?? byTrack.get(s.trackIdentifier);
    if (mid == null) return;
    counts.set(mid, s.kind === 'video' ? s.framesDecoded || 0 : s.packetsReceived || 0);
  });
  return counts;
}
