/**
 * The student page's media (loaded once the student is in the lesson): receive what the
 * receive mode says, change it live, come back after a reconnect, and, once the learner has
 * accepted the teacher's offer of the floor, publish the microphone (muted until they unmute
 * it) and the camera, if allowed. Nothing is captured before they accept. The sending code
 * (media_send.js) loads with the first offer of the floor: most students never get it.
 */
import { Subscriber } from './media.js';
import { stopTrack } from './devices.js';
import { StudentStage, renderFloorBar, renderFloorPrompt } from './media_view.js';
import { receiveMode, onReceiveMode } from './receive_mode.js';
import { errorText, onLanguage, t } from './i18n.js';
import { byId } from './dom.js';

/**
 * @param {any} conn the LessonConnection, already joined
 * @param {{learners: () => Map<string, any>, primary: () => string|null,
 *          notice: (text: string) => void, renderMedia: () => void}} page
 * @param {any} ack the join's ack (the snapshot, and ICE servers if the server sends them)
 */
export function bindStudentMedia(conn, page, ack) {
  /** media_send.js once loaded (null: not yet) */
  let sender = null;
  const sending = () =>
    import('./media_send.js').then(
      (m) => (sender = m),
      () => null, // offline: asked again at the next offer or give
    );
  /** Bumped by each give and end of the floor: a give that waited for the code sees it is stale. */
  let floorSeq = 0;
  let iceServers = ack.ice_servers || [];
  const stage = new StudentStage();
  const sub = new Subscriber(conn, { iceServers });
  /** @type {{pid: string, camera: boolean, publisher: any, muted: boolean}|null} */
  let floor = null;
  /** @type {{pid: string, camera: boolean, answering?: boolean}|null} waiting for an answer */
  let offer = null;

  sub.on('track', ({ mid, track }) => stage.setTrack(mid, track));
  sub.on('flow', (flow) => stage.render(flow));
  sub.on('state', (state) => {
    document.body.dataset.videoLink = state; // "connecting to the video…" until connected
    page.renderMedia();
  });
  sub.on('error', (error) => page.notice(errorText(error)));
  /** The server stopped the video by itself: the link does not carry it (sound goes on). */
  let weak = false;
  let bytes = 0;
  let slides = 0; // the board's page images (board.js tells their bytes so far)
  sub.on('data', (n) => {
    bytes = n;
    renderData();
  });
  window.addEventListener('sabak:bytes', (e) => {
    slides = e.detail.bytes;
    renderData();
  });
  conn.on('media_link', (d) => {
    weak = Boolean(d.sound_only);
    renderWeak();
  });
  byId('retry-video').addEventListener('click', () => {
    weak = false; // told again if the link still cannot carry it
    renderWeak();
    sub.setMode('video');
  });
  onReceiveMode((mode) => {
    weak = false; // a choice of the student's own
    renderWeak();
    sub.setMode(mode);
  });
  onLanguage(() => {
    stage.players.renderTap();
    renderFloor();
    renderOffer();
    renderData();
  });

  function renderWeak() {
    byId('weak-link').hidden = !(weak && receiveMode() === 'video');
  }

  function renderData() {
    const el = byId('data-used');
    el.hidden = !(bytes + slides);
    el.textContent = t('media.data_used', { mb: ((bytes + slides) / 1e6).toFixed(1) });
  }

  conn.on('welcome', (again) => {
    if (!again.primary || again.waiting) return;
    iceServers = sub.iceServers = again.ice_servers || iceServers;
    sub.resync(); // after a reconnect: the server may have lost our connections
    const had = floor;
    followFloor(again.snapshot);
    if (floor && floor === had) floor.publisher.republish();
  });
  conn.on('media_restart', () => {
    // The server's media forwarding restarted: our connections there are gone.
    sub.start(sub.mode);
    if (floor) floor.publisher.republish();
  });
  conn.on('recording', () => renderOffer()); // the offer says whether it is recorded
  conn.on('floor', (d) => {
    const pid = d.participant_id;
    if (!page.learners().has(pid)) return;
    if (d.state === 'offered') return offerFloor(pid, d.camera);
    if (offer && offer.pid === pid) offerFloor(null, false); // answered, or taken back
    if (d.given) giveFloor(pid, d.camera);
    else if (floor && floor.pid === pid) endFloor(false);
  });
  for (const name of ['removed', 'replaced']) {
    conn.on(name, (d) => {
      // A learner gone from a shared phone: their floor (or offer) goes with them.
      if (offer && offer.pid === d.participant_id) offerFloor(null, false);
      if (floor && floor.pid === d.participant_id) endFloor(false);
    });
  }
  conn.on('finished', () => {
    sub.close();
    stage.close();
    offerFloor(null, false);
    if (floor) endFloor(false);
  });

  function followFloor(snapshot) {
    const mine = (list) => (list || []).find((f) => page.learners().has(f.participant_id));
    const held = mine(snapshot.floor);
    if (held) giveFloor(held.participant_id, held.camera);
    else if (floor) endFloor(false);
    const asked = mine(snapshot.floor_offers);
    offerFloor(asked ? asked.participant_id : null, asked ? asked.camera : false);
  }

  /** Ask the learner first (pid null: no offer); nothing is captured until they accept. */
  function offerFloor(pid, camera) {
    const fresh = pid && (!offer || offer.pid !== pid);
    offer = pid ? { pid, camera } : null;
    if (fresh) sending(); // fetched while the learner decides; used once they have the floor
    if (fresh && navigator.vibrate) navigator.vibrate(200);
    renderOffer();
  }

  function renderOffer() {
    if (!offer) return renderFloorPrompt(null);
    const mine = offer;
    const who = mine.pid === page.primary() ? null : page.learners().get(mine.pid);
    renderFloorPrompt({
      camera: mine.camera,
      recording: page.recording(),
      name: who ? who.name : null,
      onAnswer: async (accept) => {
        if (mine.answering) return; // a second tap while the first is on its way
        mine.answering = true;
        const learner = mine.pid === page.primary() ? {} : { learner: mine.pid };
        const ack = await conn.call('floor_answer', { accept, ...learner });
        if (!ack.ok) page.notice(errorText(ack.error));
        mine.answering = false;
        if (offer === mine && (ack.ok || ack.error.code === 'no-floor-offer')) offerFloor(null);
      },
    });
  }

  async function giveFloor(pid, camera) {
    const seq = ++floorSeq;
    if (!sender) await sending(); // only without an offer first (a reload while holding the floor)
    if (seq !== floorSeq) return; // taken back, or given again, while the code loaded
    if (!sender) return page.notice(errorText({ code: 'media-failed' }));
    const { Publisher, capture } = sender;
    if (floor && floor.pid === pid && floor.camera === camera) return;
    // The microphone starts muted (the learner unmutes it when ready), or stays as it was.
    const muted = floor && floor.pid === pid ? floor.muted : true;
    if (floor) await endFloor(true);
    const learner = pid === page.primary() ? null : pid;
    const kinds = camera ? ['mic', 'camera'] : ['mic'];
    const publisher = new Publisher(conn, { kinds, learner, iceServers });
    const mine = (floor = { pid, camera, publisher, muted });
    publisher.on('error', (error) => page.notice(errorText(error)));
    renderFloor();
    try {
      for (const kind of kinds) {
        const track = await capture(kind);
        if (floor !== mine) return stopTrack(track); // taken back meanwhile
        if (kind === 'mic') track.enabled = !mine.muted;
        await publisher.set(kind, track);
      }
    } catch {
      if (floor === mine) page.notice(errorText({ code: 'media-denied' }));
    }
    renderFloor();
  }

  async function endFloor(tellServer) {
    floorSeq += 1;
    const old = floor;
    floor = null;
    renderFloor();
    if (old) await old.publisher.stop(tellServer);
  }

  function renderFloor() {
    if (!floor) return renderFloorBar(null);
    const mine = floor;
    const mic = mine.publisher.track('mic');
    renderFloorBar({
      camera: mine.camera,
      muted: mine.muted,
      track: mine.publisher.track('camera'),
      onMute: () => {
        mine.muted = !mine.muted;
        if (mic) mic.enabled = !mine.muted;
        renderFloor();
      },
    });
  }

  sub.start(receiveMode());
  followFloor(ack.snapshot || {});
}
