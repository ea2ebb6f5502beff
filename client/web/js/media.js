/**
 * Live media over WebRTC (docs/protocol.md, "Media"): a Publisher sends this device's
 * microphone, camera and screen to the server, a Subscriber receives what the server forwards.
 * Signaling goes through the LessonConnection (protocol.js). No DOM code here.
 */
import { Emitter } from './protocol.js';
import { acquire, stopTrack } from './devices.js';

/** Refusals that pass by themselves: try again in a moment instead of telling the person. */
const PASSING = ['offline', 'timeout', 'media-restarting', 'media-timeout'];

/** What the server's offer to a subscriber carries, by mid (media/slot.py SLOTS). */
export const MIDS = {
  teacherMic: '0',
  teacherCamera: '1',
  teacherScreen: '2',
  floorMic: '3',
  floorCamera: '4',
};
/** The camera as sent: at most 640x360, at most about 500 kbit/s (capped in the browser). */
export const CAMERA = { width: { ideal: 640, max: 640 }, height: { ideal: 360, max: 360 } };
const SCREEN = { width: { max: 1280 }, height: { max: 720 }, frameRate: { max: 5 } };
const ENCODINGS = {
  camera: { maxBitrate: 500_000, maxFramerate: 30 },
  screen: { maxBitrate: 600_000, maxFramerate: 5 },
  mic: { maxBitrate: 32_000 },
};
const STATS_MS = 1000;
const RETRY_MS = 3000;

/**
 * Ask the device for one track: 'mic', 'camera' or 'screen'. Rejects when the person (or the
 * browser) refuses; the caller says so on the page.
 * @returns {Promise<MediaStreamTrack>}
 */
export function capture(kind) {
  return acquire(() => ask(kind));
}

async function ask(kind) {
  const devices = navigator.mediaDevices;
  if (!devices) throw new Error('no media devices (not a secure context?)');
  if (kind === 'screen') {
    const stream = await devices.getDisplayMedia({ video: SCREEN, audio: false });
    const track = stream.getVideoTracks()[0];
    if ('contentHint' in track) track.contentHint = 'detail'; // text stays sharp
    return track;
  }
  if (kind === 'camera') {
    return (await devices.getUserMedia({ video: CAMERA })).getVideoTracks()[0];
  }
  const audio = { echoCancellation: true, noiseSuppression: true, autoGainControl: true };
  return (await devices.getUserMedia({ audio })).getAudioTracks()[0];
}

/** Send candidates only once the server has the description they belong to. */
class Trickle {
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

function newConnection(iceServers) {
  return new RTCPeerConnection({ iceServers, bundlePolicy: 'max-bundle' });
}

/**
 * This device's microphone, camera and screen toward the server: one connection with one
 * m-line per kind, negotiated once; turning a kind on or off only swaps the track.
 * Events: 'state' ('off'|'connecting'|'connected'|'failed'), 'tracks', 'error' (an ack error).
 */
export class Publisher extends Emitter {
  /**
   * @param {any} conn the LessonConnection
   * @param {{kinds: string[], learner?: string|null, iceServers?: RTCIceServer[]}} options
   *   kinds: the m-lines to offer ('mic', 'camera', 'screen'); learner: who publishes on a
   *   shared phone (null: the device's first learner)
   */
  constructor(conn, { kinds, learner = null, iceServers = [] }) {
    super();
    this.conn = conn;
    this.kinds = kinds;
    this.extra = learner ? { learner } : {};
    this.iceServers = iceServers;
    /** @type {Map<string, MediaStreamTrack|null>} */
    this.tracks = new Map(kinds.map((k) => [k, null]));
    /** @type {Map<string, RTCRtpSender>} */
    this.senders = new Map();
    /** @type {RTCPeerConnection|null} */
    this.pc = null;
    this.state = 'off';
    this.closed = false;
    this.busy = Promise.resolve();
    this.retry = 0;
  }

  /** @param {string} kind */
  track(kind) {
    return this.tracks.get(kind) || null;
  }

  /** Any track on? */
  get live() {
    return [...this.tracks.values()].some(Boolean);
  }

  /** Send `track` as `kind` (null: stop sending it, and stop the device). */
  set(kind, track) {
    return this.serial(async () => {
      const old = this.tracks.get(kind);
      if (old && old !== track) stopTrack(old);
      this.tracks.set(kind, track);
      if (track) track.addEventListener('ended', () => this.ended(kind, track));
      if (this.pc && this.senders.has(kind)) await this.senders.get(kind).replaceTrack(track);
      else if (track && !this.pc) await this.negotiate();
      this.tell('tracks', this.tracks);
    });
  }

  /** Turn a kind on (capture it) or off. */
  async toggle(kind) {
    if (this.track(kind)) return this.set(kind, null);
    return this.set(kind, await capture(kind));
  }

  ended(kind, track) {
    // The person stopped it outside the page (the browser's "stop sharing" bar).
    if (this.tracks.get(kind) === track) this.set(kind, null);
  }

  /** Offer again on a new connection (after a reconnect, or when the old one failed). */
  republish() {
    return this.serial(async () => {
      if (this.live) await this.negotiate();
    });
  }

  /** Stop everything: the devices, the connection, and tell the server. */
  async stop(tellServer = true) {
    this.closed = true;
    clearTimeout(this.retry);
    for (const track of this.tracks.values()) if (track) stopTrack(track);
    for (const kind of this.kinds) this.tracks.set(kind, null);
    const had = this.pc;
    this.drop();
    if (had && tellServer) await this.conn.call('media_unpublish', this.extra);
    this.setState('off');
    this.tell('tracks', this.tracks);
  }

  serial(job) {
    this.busy = this.busy.then(job).catch((err) => this.tell('error', errorOf(err)));
    return this.busy;
  }

  drop() {
    if (this.pc) this.pc.close();
    this.pc = null;
    this.senders.clear();
  }

  setState(state) {
    if (this.state === state) return;
    this.state = state;
    this.tell('state', state);
  }

  async negotiate() {
    if (this.closed) return;
    this.drop();
    const pc = (this.pc = newConnection(this.iceServers));
    const trickle = new Trickle(this.conn, 'publish', this.extra);
    pc.onicecandidate = (event) => trickle.add(event.candidate);
    pc.onconnectionstatechange = () => this.connectionChanged(pc);
    const stream = new MediaStream(); // one stream id: the mic and camera stay in sync
    const transceivers = this.kinds.map((kind) => {
      const what = this.tracks.get(kind) || (kind === 'mic' ? 'audio' : 'video');
      const transceiver = pc.addTransceiver(what, { direction: 'sendonly', streams: [stream] });
      this.senders.set(kind, transceiver.sender);
      return [kind, transceiver];
    });
    this.setState('connecting');
    await pc.setLocalDescription(await pc.createOffer());
    const trackKinds = Object.fromEntries(transceivers.map(([kind, t]) => [t.mid, kind]));
    const ack = await this.conn.call('media_publish', {
      sdp: pc.localDescription.sdp,
      track_kinds: trackKinds,
      ...this.extra,
    });
    if (pc !== this.pc) return; // replaced meanwhile
    if (!ack.ok) {
      this.drop();
      this.setState('failed');
      if (PASSING.includes(ack.error.code)) this.later();
      else this.tell('error', ack.error);
      return;
    }
    await pc.setRemoteDescription({ type: 'answer', sdp: ack.sdp });
    trickle.open();
    await Promise.all(this.kinds.map((kind) => capBitrate(this.senders.get(kind), kind)));
  }

  connectionChanged(pc) {
    if (pc !== this.pc) return;
    const state = pc.connectionState;
    if (state === 'connected') this.setState('connected');
    else if (state === 'failed') {
      this.setState('failed');
      this.later();
    }
  }

  /** Try again in a moment, if still wanted and still joined. */
  later() {
    clearTimeout(this.retry);
    this.retry = setTimeout(() => {
      if (!this.closed && this.conn.joined && this.live) this.republish();
    }, RETRY_MS);
  }
}

/** The browser-side cap: bitrate and frame rate per kind (the server never re-encodes). */
async function capBitrate(sender, kind) {
  const params = sender.getParameters();
  if (!params.encodings || !params.encodings.length) params.encodings = [{}];
  Object.assign(params.encodings[0], ENCODINGS[kind]);
  if (kind === 'screen') params.degradationPreference = 'maintain-resolution';
  try {
    await sender.setParameters(params);
  } catch {
    /* an older browser without these parameters: the server still forwards what comes */
  }
}

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

function errorOf(err) {
  return { code: 'media-failed', message: String((err && err.message) || err) };
}
