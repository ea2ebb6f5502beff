/**
 * The REST API (GET /api/openapi.json) with a Bearer key: the organizer's admin key or a
 * teacher's personal token. No DOM code.
 */

/** A refusal from the server (or the network), with the stable error code. */
export class RestError extends Error {
  constructor(status, code, message) {
    super(message || code);
    this.status = status;
    this.code = code;
  }
}

/** Calls the API as one key holder. */
export class Rest {
  /** @param {string} key */
  constructor(key) {
    this.key = key;
  }

  /**
   * @param {string} method
   * @param {string} path
   * @param {{json?: any, csv?: string, file?: {data: Blob|string, type: string},
   *          as?: 'json'|'blob'|'text'}} [options]
   */
  async request(method, path, { json, csv, file, as = 'json' } = {}) {
    const headers = { Authorization: `Bearer ${this.key}` };
    let body;
    if (json !== undefined) {
      headers['Content-Type'] = 'application/json';
      body = JSON.stringify(json);
    } else if (csv !== undefined) {
      headers['Content-Type'] = 'text/csv';
      body = csv;
    } else if (file !== undefined) {
      headers['Content-Type'] = file.type;
      body = file.data;
    }
    let response;
    try {
      response = await fetch(path, { method, headers, body });
    } catch {
      throw new RestError(0, 'offline', '');
    }
    if (!response.ok) {
      const data = await response.json().catch(() => ({}));
      const error = data.error || {};
      throw new RestError(response.status, error.code || 'internal', error.message);
    }
    if (as === 'blob') return response.blob();
    if (as === 'text') return response.text();
    return response.json();
  }

  get(path, as) {
    return this.request('GET', path, { as });
  }

  post(path, json) {
    return this.request('POST', path, { json });
  }
}
