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
/*
 * Layers for weak links (docs/protocol.md, "Layers"): the camera also goes as a 320x180 copy
 * of its own (the server forwards one of the two to each student), and each video in VP8
 * temporal layers, so that the server can also drop to 15 or 7.5 frames a second.
 */
const ENCODINGS = {
  camera: { maxBitrate: 500_000, maxFramerate: 30, scalabilityMode: 'L1T3' },
  'camera-low': {
    maxBitrate: 150_000,
    maxFramerate: 30,
    scaleResolutionDownBy: 2,
    scalabilityMode: 'L1T3',
  },
  screen: { maxBitrate: 600_000, maxFramerate: 5, scalabilityMode: 'L1T2' },
  mic: { maxBitrate: 32_000 },
};
/** The smaller copy sent beside a kind when the publisher sends layers. */
const LOW_COPY = { camera: 'camera-low' };

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
   * @param {{kinds: string[], learner?: string|null, iceServers?: RTCIceServer[],
   *   layers?: boolean}} options
   *   kinds: the m-lines to offer ('mic', 'camera', 'screen'); learner: who publishes on a
   *   shared phone (null: the device's first learner); layers: also send the camera's low copy
   */
  constructor(conn, { kinds, learner = null, iceServers = [], layers = false }) {
    super();
    this.conn = conn;
    this.kinds = kinds;
    /** The m-lines: each kind, and its low copy after it when sending layers. */
    this.lines = kinds.flatMap((k) => (layers && LOW_COPY[k] ? [k, LOW_COPY[k]] : [k]));
    /** @type {Map<string, MediaStreamTrack>} low copy kind -> the clone it sends */
    this.copies = new Map();
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
      if (this.pc && this.senders.has(kind)) {
        await this.senders.get(kind).replaceTrack(track);
        const low = LOW_COPY[kind];
        if (this.senders.has(low)) await this.senders.get(low).replaceTrack(this.copy(low));
      } else if (track && !this.pc) await this.negotiate();
      this.tell('tracks', this.tracks);
    });
  }

  /** A fresh clone of the track a low copy sends (null when its kind is off). */
  copy(low) {
    const old = this.copies.get(low);
    if (old) old.stop();
    this.copies.delete(low);
    const kind = low.replace(/-low$/, '');
    const track = this.tracks.get(kind);
    if (!track) return null;
    const clone = track.clone();
    this.copies.set(low, clone);
    return clone;
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
    for (const clone of this.copies.values()) clone.stop();
    this.copies.clear();
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
    const transceivers = this.lines.map((kind) => {
      const track = this.tracks.has(kind) ? this.tracks.get(kind) : this.copy(kind);
      const what = track || (kind === 'mic' ? 'audio' : 'video');
      const transceiver = addSending(pc, what, kind, stream);
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
    await Promise.all(this.lines.map((kind) => capBitrate(this.senders.get(kind), kind)));
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

/** A sendonly m-line encoding as ENCODINGS says (without them where the browser refuses). */
function addSending(pc, what, kind, stream) {
  const init = { direction: 'sendonly', streams: [stream] };
  if (kind === 'mic') return pc.addTransceiver(what, init);
  try {
    return pc.addTransceiver(what, { ...init, sendEncodings: [{ ...ENCODINGS[kind] }] });
  } catch {
    return pc.addTransceiver(what, init); // no temporal layers here: the server copes
  }
}

/** The browser-side cap: bitrate and frame rate per kind (the server never re-encodes). */
async function capBitrate(sender, kind) {
  const params = sender.getParameters();
  if (!params.encodings || !params.encodings.length) params.encodings = [{}];
  // Temporal layers were asked for with the m-line: here they could only make it throw.
  const { scalabilityMode, ...cap } = ENCODINGS[kind];
  Object.assign(params.encodings[0], cap);
  if (kind === 'screen') params.degradationPreference = 'maintain-resolution';
  try {
    await sender.setParameters(params);
  } catch {
    /* an older browser without these parameters: the server still forwards what comes */
  }
}
