/**
 * The student page's media (loaded once the student is in the lesson): receive what the
 * receive mode says, change it live, come back after a reconnect, and publish the microphone
 * (and camera, if allowed) while the teacher gives this phone's learner the floor.
 */
import { Publisher, Subscriber, capture } from './media.js';
import { StudentStage, renderFloorBar } from './media_view.js';
import { receiveMode, onReceiveMode } from './receive_mode.js';
import { errorText, onLanguage } from './i18n.js';

/**
 * @param {any} conn the LessonConnection, already joined
 * @param {{learners: () => Map<string, any>, primary: () => string|null,
 *          notice: (text: string) => void}} page
 * @param {any} ack the join's ack (the snapshot, and ICE servers if the server sends them)
 */
export function bindStudentMedia(conn, page, ack) {
  let iceServers = ack.ice_servers || [];
  const stage = new StudentStage();
  const sub = new Subscriber(conn, { iceServers });
  /** @type {{pid: string, camera: boolean, publisher: Publisher, muted: boolean}|null} */
  let floor = null;

  sub.on('track', ({ mid, track }) => stage.setTrack(mid, track));
  sub.on('flow', (flow) => stage.render(flow));
  sub.on('error', (error) => page.notice(errorText(error)));
  onReceiveMode((mode) => sub.setMode(mode));
  onLanguage(() => {
    stage.players.renderTap();
    renderFloor();
  });

  conn.on('welcome', (again) => {
    if (!again.primary || again.waiting) return;
    iceServers = sub.iceServers = again.ice_servers || iceServers;
    sub.resync(); // after a reconnect: the server may have lost our connections
    const had = floor;
    followFloor(again.snapshot.floor || []);
    if (floor && floor === had) floor.publisher.republish();
  });
  conn.on('media_restart', () => {
    // The server's media forwarding restarted: our connections there are gone.
    sub.start(sub.mode);
    if (floor) floor.publisher.republish();
  });
  conn.on('floor', (d) => {
    if (!page.learners().has(d.participant_id)) return;
    if (d.given) giveFloor(d.participant_id, d.camera);
    else if (floor && floor.pid === d.participant_id) endFloor(false);
  });
  conn.on('finished', () => {
    sub.close();
    stage.close();
    if (floor) endFloor(false);
  });

  function followFloor(list) {
    const mine = list.find((f) => page.learners().has(f.participant_id));
    if (mine) giveFloor(mine.participant_id, mine.camera);
    else if (floor) endFloor(false);
  }

  async function giveFloor(pid, camera) {
    if (floor && floor.pid === pid && floor.camera === camera) return;
    if (floor) await endFloor(true);
    const learner = pid === page.primary() ? null : pid;
    const kinds = camera ? ['mic', 'camera'] : ['mic'];
    const publisher = new Publisher(conn, { kinds, learner, iceServers });
    const mine = (floor = { pid, camera, publisher, muted: false });
    publisher.on('error', (error) => page.notice(errorText(error)));
    renderFloor();
    try {
      for (const kind of kinds) {
        const track = await capture(kind);
        if (floor !== mine) return track.stop(); // taken back meanwhile
        await publisher.set(kind, track);
      }
    } catch {
      page.notice(errorText({ code: 'media-denied' }));
    }
    renderFloor();
  }

  async function endFloor(tellServer) {
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
  followFloor((ack.snapshot && ack.snapshot.floor) || []);
}
