/**
 * The chat list, for the student and the teacher pages: messages from the server, plus this
 * device's own messages still waiting to be sent. Every text is rendered as text.
 */
import { h, fill } from './dom.js';
import { t, errorText, formatTime } from './i18n.js';

/**
 * @typedef {{id: number, author_id: string, author_name: string, text: string,
 *            to: 'all'|'teacher'|'participant', recipient_id?: string|null,
 *            ts: number}} ChatMessage
 * @typedef {{client_id: string, text: string, to: string, status: string,
 *            ack?: {error?: {code: string}}}} OwnMessage
 */

/**
 * @param {HTMLElement} list the <ol>
 * @param {Iterable<ChatMessage>} messages in order
 * @param {OwnMessage[]} own queued or refused messages of this device
 * @param {{mine: Set<string>, onDelete?: (id: number) => void,
 *          onReply?: (m: ChatMessage) => void, nameOf?: (id: string) => string}} options
 *   onReply: the teacher's "reply privately" on a private question
 */
export function renderChat(list, messages, own, { mine, onDelete, onReply, nameOf }) {
  const nearBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 60;
  const items = [];
  for (const m of messages) {
    const item = messageItem(m, mine.has(m.author_id), onDelete, nameOf);
    if (onReply && m.to === 'teacher') item.append(replyButton(m, onReply));
    items.push(item);
  }
  for (const m of own) items.push(ownItem(m));
  if (!items.length) items.push(h('li', { class: 'muted', text: t('chat.empty') }));
  fill(list, ...items);
  if (nearBottom || own.length) list.scrollTop = list.scrollHeight;
}

function replyButton(m, onReply) {
  return h('button', {
    type: 'button',
    class: 'link',
    text: t('chat.reply_private'),
    'data-reply': m.id,
    onclick: () => onReply(m),
  });
}

/** "to the teacher", or for a private reply "to Name" (or "to you"). */
function privateTag(m, isMine, nameOf) {
  if (m.to === 'teacher') return h('span', { class: 'tag', text: t('chat.private') });
  if (m.to !== 'participant') return null;
  const name = isMine && nameOf ? nameOf(m.recipient_id) : '';
  const text = name ? t('chat.private_to', { name }) : t('chat.private_to_you');
  return h('span', { class: 'tag', 'data-private-to': m.recipient_id, text });
}

function messageItem(m, isMine, onDelete, nameOf) {
  const head = h(
    'div',
    { class: 'meta' },
    h('b', { text: m.author_name }),
    ' ',
    h('time', { text: formatTime(m.ts) }),
    privateTag(m, isMine, nameOf),
  );
  const remove =
    onDelete &&
    h('button', {
      type: 'button',
      class: 'link',
      text: t('chat.delete'),
      'data-delete': m.id,
      onclick: () => onDelete(m.id),
    });
  const cls = isMine ? 'msg mine' : 'msg';
  return h('li', { class: cls, 'data-id': m.id }, head, h('p', { text: m.text }), remove);
}

function ownItem(m) {
  const failed = m.status === 'failed';
  const note = failed ? errorText(m.ack.error) : t('chat.queued');
  return h(
    'li',
    { class: failed ? 'msg mine failed' : 'msg mine pending', 'data-client-id': m.client_id },
    h('div', { class: 'meta' }, h('span', { class: 'tag', text: note })),
    h('p', { text: m.text }),
  );
}
