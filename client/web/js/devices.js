/**
 * The capture devices this page holds (microphone, camera, screen). Every track from
 * getUserMedia / getDisplayMedia is acquired here, so that one call, `releaseDevices`, stops
 * them all at once when the page stops being in a lesson (lifecycle.js, on 'finished').
 */

/** @type {Set<MediaStreamTrack>} */
const held = new Set();
let era = 0;

/**
 * Ask for a track; one that arrives after the devices were released (the person answered
 * the browser's question after the lesson ended) is stopped at once and refused.
 * @param {() => Promise<MediaStreamTrack>} ask
 * @returns {Promise<MediaStreamTrack>}
 */
export async function acquire(ask) {
  const asked = era;
  const track = await ask();
  if (asked !== era) {
    track.stop();
    throw new Error('the lesson is over');
  }
  held.add(track);
  return track;
}

/** Stop one track and forget it. @param {MediaStreamTrack} track */
export function stopTrack(track) {
  track.stop();
  held.delete(track);
}

/** Stop every capture track, and any still being asked for. */
export function releaseDevices() {
  era += 1;
  for (const track of held) track.stop();
  held.clear();
}
