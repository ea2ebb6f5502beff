/**
 * The offline queue: what a learner does while offline (chat, a raised hand) is kept in order
 * and sent once the connection is joined again, each item exactly once (chat by its client id).
 * The lesson connection (protocol.js) is built with it; it supplies `call`, `tell` and
 * `joined`. No DOM code here.
 */

/** How long to wait before sending the queue again when the server did not answer. */
export const RETRY_MS = 3000;

/**
 * @typedef {{ok: boolean, error?: {code: string, message: string}, [k: string]: any}} Ack
 * @typedef {{kind: 'chat'|'hand', client_id?: string, text?: string, to?: string,
 *            learner: string|null, status: 'queued'|'sent'|'failed', ack?: Ack}} QueueItem
 */

/** A random id for a chat message; crypto.randomUUID needs a secure context, this does not. */
function clientId() {
  const bytes = crypto.getRandomValues(new Uint8Array(12));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

/**
 * `Base` with the queue added (a mixin: the queue needs the connection's `call`, `tell` and
 * `joined`, the connection needs the queue).
 */
export function queueing(Base) {
  return class extends Base {
    constructor(...args) {
      super(...args);
      /** @type {QueueItem[]} */
      this.queue = [];
      this.flushing = false;
      this.retryTimer = 0;
    }

    /** @returns {QueueItem} */
    /** `to` 'participant' (the teacher's private reply) goes with the `participantId`. */
    sendChat(text, to = 'all', learner = null, participantId = null) {
      const item = { kind: 'chat', client_id: clientId(), text, to, learner, status: 'queued' };
      if (participantId) item.participant_id = participantId;
      this.enqueue(item);
      return item;
    }

    raiseHand(learner = null) {
      const already = this.queue.find((i) => i.kind === 'hand' && i.learner === learner);
      if (!already) this.enqueue({ kind: 'hand', learner, status: 'queued' });
    }

    enqueue(item) {
      this.queue.push(item);
      this.tell('queue', this.queue);
      this.flush();
    }

    async flush() {
      if (this.flushing || !this.joined) return;
      this.flushing = true;
      try {
        while (this.queue.length && this.joined) {
          const item = this.queue[0];
          const ack = await this.call(...wireOf(item));
          if (!ack.ok && ['timeout', 'offline'].includes(ack.error.code)) {
            clearTimeout(this.retryTimer);
            this.retryTimer = setTimeout(() => this.flush(), RETRY_MS);
            break; // kept: sent again (with the same client id) once the server answers
          }
          this.queue.shift();
          item.status = ack.ok ? 'sent' : 'failed';
          item.ack = ack;
          this.tell('sent', item);
        }
      } finally {
        this.flushing = false;
        this.tell('queue', this.queue);
      }
    }
  };
}

/** @param {QueueItem} item @returns {[string, object]} */
function wireOf(item) {
  if (item.kind === 'chat') {
    const body = { client_id: item.client_id, text: item.text, to: item.to };
    if (item.participant_id) body.participant_id = item.participant_id;
    return ['chat_send', withLearner(body, item.learner)];
  }
  return ['hand_raise', withLearner({}, item.learner)];
}

export function withLearner(payload, learner) {
  return learner ? { ...payload, learner } : payload;
}
