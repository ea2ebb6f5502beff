/**
 * Sending live media (docs/protocol.md, "Media"): a Publisher sends this device's microphone,
 * camera and screen to the server; `capture` asks the device for them. No DOM code here.
 */
import { Emitter } from './protocol.js';
import { acquire, stopTrack } from './devices.js';
import { PASSING, RETRY_MS, Trickle, newConnection, errorOf } from './media.js';

/** The camera as sent: at most 640x360, at most about 500 kbit/s (capped in the browser). */
export const CAMERA = { width: { ideal: 640, max: 640 }, height: { ideal: 360, max: 360 } };
const SCREEN = { width: { max: 1280 }, height: { max: 720 }, frameRate: { max: 5 } };
const ENCODINGS = {
  camera: { maxBitrate: 500_000, maxFramerate: 30 },
  screen: { maxBitrate: 600_000, maxFramerate: 5 },
  mic: { maxBitrate: 32_000 },
};

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
