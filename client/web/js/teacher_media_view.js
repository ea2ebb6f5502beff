/**
 * The teacher's media on the page: the publish card (`data-media="teacher-publish"`: own
 * camera preview, microphone / camera / screen buttons, connection state, the floor: waiting
 * for the student to accept, declined, or who has it with their camera and a take-back
 * button) and, in the roster, the floor buttons and what each participant receives.
 * Rendering only: actions go out through callbacks.
 */
import { h, fill } from './dom.js';
import { t } from './i18n.js';

const KINDS = ['mic', 'camera', 'screen'];

/** Build the card's parts once per lesson; `render` updates them. */
export function buildPanel(card, act) {
  const heading = card.querySelector('h2');
  const preview = h('video', { class: 'preview', 'data-preview': '', hidden: true });
  preview.muted = true;
  preview.playsInline = true;
  const buttons = Object.fromEntries(
    KINDS.map((kind) => [
      kind,
      h('button', { type: 'button', 'data-publish': kind, onclick: () => act('toggle', kind) }),
    ]),
  );
  const status = h('p', { class: 'muted', 'data-publish-state': '' });
  const floorCamera = h('input', { type: 'checkbox', id: 'floor-camera' });
  const floorBox = h('div', { class: 'floor-box', 'data-floor-box': '', hidden: true });
  const floorMedia = h('div', { class: 'media floor-media' });
  const parts = {
    preview,
    buttons,
    status,
    floorCamera,
    floorBox,
    floorMedia,
    floorLabel: h('span'),
    floorText: h('strong'),
    floorTake: h('button', { type: 'button', class: 'danger', 'data-floor-take': '' }),
  };
  fill(
    card,
    heading,
    preview,
    h('div', { class: 'actions' }, ...Object.values(buttons)),
    status,
    h('label', { class: 'row' }, floorCamera, parts.floorLabel),
    fill(floorBox, h('div', { class: 'row' }, parts.floorText, parts.floorTake), floorMedia),
  );
  return parts;
}

/**
 * @param {ReturnType<typeof buildPanel>} parts
 * @param {{tracks: Map<string, MediaStreamTrack|null>, state: string,
 *          floor: {id: string, name: string, state: 'given'|'offered'|'declined'}|null,
 *          floorFlowing: boolean}} s
 */
export function renderPanel(parts, s, act) {
  for (const kind of KINDS) {
    const on = Boolean(s.tracks.get(kind));
    const button = parts.buttons[kind];
    button.textContent = t(`teach.${kind}_${on ? 'stop' : 'start'}`);
    button.setAttribute('aria-pressed', on ? 'true' : 'false');
    button.className = on ? 'primary' : '';
  }
  const camera = s.tracks.get('camera');
  const shown = parts.preview.srcObject && parts.preview.srcObject.getTracks()[0];
  if (camera !== shown) {
    parts.preview.srcObject = camera ? new MediaStream([camera]) : null;
    if (camera) parts.preview.play().catch(() => {});
  }
  parts.preview.hidden = !camera;
  parts.status.textContent = t(`teach.media_${s.state}`);
  parts.status.dataset.publishState = s.state;
  parts.floorLabel.textContent = t('teach.floor_camera');
  parts.floorBox.hidden = !s.floor;
  if (s.floor) {
    const { id, name, state } = s.floor;
    parts.floorBox.dataset.floorState = state;
    parts.floorText.textContent = t(`teach.floor_${state}`, { name });
    parts.floorTake.hidden = state === 'declined';
    const take = state === 'offered' ? 'teach.floor_withdraw' : 'teach.floor_take';
    parts.floorTake.textContent = t(take);
    parts.floorTake.onclick = () => act('floor_take', id);
  }
  parts.floorMedia.hidden = !s.floorFlowing;
}

/**
 * Add the floor button and what each participant receives to the roster's rows.
 * @param {Map<string, any>} participants
 * @param {Map<string, 'given'|'offered'|'declined'>} floor who has the floor, who was asked
 * @param {Map<string, {mode: string, connection: string}>} receiving
 */
export function decorateRoster(participants, floor, receiving, act) {
  for (const row of document.querySelectorAll('#roster tr[data-participant]')) {
    const p = participants.get(row.dataset.participant);
    if (!p || p.role === 'teacher') continue;
    for (const old of row.querySelectorAll('[data-media-added]')) old.remove();
    const [, stateCell, actions] = row.cells;
    // A learner on someone else's (shared) phone receives what that phone receives.
    const r = receiving.get(p.device || p.id);
    const state = floor.get(p.id);
    if (state) {
      const tag = { class: `tag floor ${state}`, 'data-media-added': '', 'data-floor-tag': state };
      stateCell.append(h('span', { ...tag, text: t(`teach.floor_tag_${state}`) }));
    }
    if (r && p.presence === 'present') stateCell.append(receivingTag(r));
    if (p.presence !== 'present' || !actions.classList.contains('actions')) continue;
    actions.prepend(floorButton(p.id, state, act));
  }
}

/** Give the floor; take it back; withdraw an offer not yet answered. */
function floorButton(id, state, act) {
  const [kind, text] = {
    given: ['take', 'teach.floor_take'],
    offered: ['withdraw', 'teach.floor_withdraw'],
  }[state] || ['give', 'teach.floor_give'];
  return h('button', {
    type: 'button',
    class: kind === 'give' ? '' : 'danger',
    'data-media-added': '',
    'data-floor': kind,
    text: t(text),
    onclick: () => act(kind === 'give' ? 'floor_give' : 'floor_take', id),
  });
}

function receivingTag(r) {
  const linked = r.mode === 'none' || r.connection === 'connected';
  const text = linked
    ? t(`teach.recv_${r.mode}`)
    : `${t(`teach.recv_${r.mode}`)} · ${t('teach.recv_no_link')}`;
  return h('span', {
    class: linked ? 'tag recv' : 'tag recv bad',
    'data-media-added': '',
    'data-receiving': r.mode,
    'data-connection': r.connection,
    text,
  });
}
