/**
 * A few listeners by name, for the lesson connection and the media links, and the random
 * ids their messages carry. No DOM code here.
 */

/** A random id for a chat message; crypto.randomUUID needs a secure context, this does not. */
export function clientId() {
  const bytes = crypto.getRandomValues(new Uint8Array(12));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

/** A few listeners by name: `on(name, fn)` adds one, `tell(name, data)` calls them. */
export class Emitter {
  constructor() {
    /** @type {Map<string, Set<Function>>} */
    this.listeners = new Map();
  }

  /** @param {string} name @param {(data: any) => void} fn */
  on(name, fn) {
    if (!this.listeners.has(name)) this.listeners.set(name, new Set());
    this.listeners.get(name).add(fn);
    return this;
  }

  /**
   * Call every listener, even after one throws: the end of a lesson must reach the code that
   * stops the camera. The error is thrown again afterwards, so it is still seen.
   * @param {string} name @param {any} [data]
   */
  tell(name, data) {
    for (const fn of this.listeners.get(name) || []) {
      try {
        fn(data);
      } catch (err) {
        queueMicrotask(() => {
          throw err;
        });
      }
    }
  }
}
