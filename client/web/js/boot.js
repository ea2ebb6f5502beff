/**
 * The student page's first script. The server writes it into the page (server/first_paint.py)
 * so it runs as the HTML is read, while the page's modules are still on their way:
 * - the style sheet: the server wrote the first screen's rules into the page and preloads
 *   the whole sheet; applied from here it never holds back the first paint;
 * - for a personal link, the lesson's WebSocket (its handshake and upgrade are two round
 *   trips, here overlapped with loading socket.io-client), the connection on it (connect,
 *   then `join` without naming the lesson: the server picks the course's live one) and
 *   `/api/me` (the learner's name, a teacher's link, the lessons), all at once: on a slow
 *   link each round trip costs seconds when it waits for the page's other modules. The
 *   connection holds what it hears until the page takes it (`release()`).
 * A classic script (a module cannot be written in and still be imported): it hands its
 * results to student.js as `globalThis.sabakBoot`.
 */
'use strict';
// A block: nothing of this script but `sabakBoot` becomes a global.
{  const linked = (selector) => document.querySelector(selector).href;
  const sheet = document.createElement('link');
  sheet.rel = 'stylesheet';
  sheet.href = linked('link[rel=preload][as=style]');
  document.head.append(sheet);

  /**
   * A WebSocket opened before the code that uses it has loaded: what happened before that
   * code set its `on…` handlers is given to them, in order, once it has set them.
   */
  class EarlySocket {
    constructor(url) {
      this.ws = new WebSocket(url);
      /** @type {Array<[string, Event]>|null} events before the handlers (null: handed over) */
      this.past = [];
      this.handlers = {};
      for (const type of ['open', 'message', 'close', 'error']) {
        this.ws.addEventListener(type, (event) => {
          if (this.past) this.past.push([type, event]);
          else if (this.handlers[type]) this.handlers[type](event);
        });
      }
    }

    set binaryType(type) {
      this.ws.binaryType = type;
    }

    get readyState() {
      return this.ws.readyState;
    }

    send(data) {
      this.ws.send(data);
    }

    close() {
      this.ws.close();
    }

    /** @param {string} type @param {(event: Event) => void} fn */
    handle(type, fn) {
      this.handlers[type] = fn;
      if (this.past && !this.replaying) {
        // The user sets its handlers one after the other: replay once all are there.
        this.replaying = true;
        queueMicrotask(() => {
          const past = this.past;
          this.past = null;
          for (const [t, event] of past) if (this.handlers[t]) this.handlers[t](event);
        });
      }
    }

    set onopen(fn) {
      this.handle('open', fn);
    }

    set onmessage(fn) {
      this.handle('message', fn);
    }

    set onclose(fn) {
      this.handle('close', fn);
    }

    set onerror(fn) {
      this.handle('error', fn);
    }
  }

  const fragment = decodeURIComponent(location.hash.slice(1));
  const personal = Boolean(fragment) && !fragment.startsWith('code=');

  function socketUrl() {
    const url = new URL('/socket.io/?EIO=4&transport=websocket', location.href);
    url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
    return url.href;
  }

  function connectEarly() {
    const socket = new EarlySocket(socketUrl());
    return import(linked('link[rel=modulepreload][href$="/js/protocol.js"]')).then(
      ({ LessonConnection }) =>
        new LessonConnection({ auth: { token: fragment }, socket }).hold().start(),
      () => null, // offline: the page asks /api/me again and connects then
    );
  }

  globalThis.sabakBoot = {
    /** The `/api/me` response for the personal link in the URL, already asked for (or null). */
    me: personal ? fetch('/api/me', { headers: { Authorization: `Bearer ${fragment}` } }) : null,
    /** The personal link's lesson connection, already joining and held (null: none, failed). */
    early: personal ? connectEarly() : null,
  };
}
