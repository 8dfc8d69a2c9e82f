// The playground's HTTP side, as browser JavaScript inlined into the page (no build step): calls
// with the API key, errors in the API's `{"error": {...}}` shape, and following an async job to
// its end. A job is followed through GET /v1/jobs/:id/events, read with fetch() because
// EventSource cannot send an Authorization header, and parsed as the HTML standard's
// "text/event-stream" interpretation says (§9.2.6: lines end in CRLF, LF or CR; `data` lines join
// with LF; a blank line dispatches; `:` lines are comments, i.e. keep-alives). When that route is
// missing, refuses, or the stream ends early, the job is polled instead until it is finished.
//
// Kept free of backticks and `${`: it is a String.raw template.
export const API_CLIENT_SCRIPT = String.raw`
function apiClient(readKey) {
  const POLL_INTERVAL_MS = 500;
  const FINISHED = new Set(['succeeded', 'failed', 'cancelled']);

  class ApiFailure extends Error {
    constructor(code, message, field) {
      super(message);
      this.code = code;
      this.field = field;
    }
  }

  function request(path, init) {
    const options = init || {};
    const headers = new Headers(options.headers);
    headers.set('Authorization', 'Bearer ' + readKey());
    return fetch(path, Object.assign({}, options, { headers: headers }));
  }

  async function failureOf(response) {
    const body = await response.json().catch(() => null);
    const error = body && body.error;
    if (error && typeof error.message === 'string') return new ApiFailure(error.code, error.message, error.field);
    return new ApiFailure('http_' + response.status, 'the server answered ' + response.status + ' ' + response.statusText);
  }

  function sleep(ms, signal) {
    return new Promise((resolve, reject) => {
      if (signal.aborted) return reject(signal.reason);
      const stop = () => {
        clearTimeout(timer);
        reject(signal.reason);
      };
      const timer = setTimeout(() => {
        signal.removeEventListener('abort', stop);
        resolve();
      }, ms);
      signal.addEventListener('abort', stop, { once: true });
    });
  }

  /** Feeds text in as it arrives; returns the events completed by each piece. */
  function eventStreamParser() {
    let pending = '';
    let type = '';
    let data = [];
    const events = [];
    function takeLine(line) {
      if (line === '') {
        if (data.length > 0) events.push({ type: type || 'message', data: data.join('\n') });
        type = '';
        data = [];
        return;
      }
      if (line.startsWith(':')) return;
      const colon = line.indexOf(':');
      const field = colon < 0 ? line : line.slice(0, colon);
      let value = colon < 0 ? '' : line.slice(colon + 1);
      if (value.startsWith(' ')) value = value.slice(1);
      if (field === 'event') type = value;
      else if (field === 'data') data.push(value);
    }
    return function push(text) {
      pending += text;
      // A CR at the very end may be the first half of a CRLF split between two reads.
      const held = pending.endsWith('\r') ? '\r' : '';
      const lines = (held ? pending.slice(0, -1) : pending).replace(/\r\n?/g, '\n').split('\n');
      pending = lines.pop() + held;
      for (const line of lines) takeLine(line);
      return events.splice(0);
    };
  }

  /** The job's final view from its event stream; null when the stream is not there or breaks off. */
  async function streamJob(url, signal, onUpdate) {
    let response;
    try {
      response = await request(url + '/events', { headers: { Accept: 'text/event-stream' }, signal: signal });
    } catch (error) {
      if (signal.aborted) throw error;
      return null;
    }
    const type = response.headers.get('Content-Type') || '';
    if (!response.ok || !type.startsWith('text/event-stream') || !response.body) {
      if (response.body) response.body.cancel().catch(() => undefined);
      return null;
    }
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    const push = eventStreamParser();
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return null;
        for (const event of push(value)) {
          let payload;
          try {
            payload = JSON.parse(event.data);
          } catch {
            continue;
          }
          if (event.type === 'done' || event.type === 'failed' || event.type === 'cancelled') return payload;
          onUpdate(event.type, payload);
        }
      }
    } catch (error) {
      if (signal.aborted) throw error;
      return null;
    } finally {
      reader.cancel().catch(() => undefined);
    }
  }

  function retryAfterMs(response) {
    const seconds = Number(response.headers.get('Retry-After'));
    return Number.isFinite(seconds) && seconds > 0 ? seconds * 1000 : 1000;
  }

  /** Polls GET /v1/jobs/:id until the job is finished; a few network failures in a row are retried. */
  async function pollJob(url, signal, onUpdate) {
    let failures = 0;
    for (;;) {
      let response;
      try {
        response = await request(url, { signal: signal });
        failures = 0;
      } catch (error) {
        failures += 1;
        if (signal.aborted || failures >= 5) throw error;
        await sleep(1000, signal);
        continue;
      }
      if (response.status === 429) {
        await sleep(retryAfterMs(response), signal);
        continue;
      }
      if (!response.ok) throw await failureOf(response);
      const view = await response.json();
      if (FINISHED.has(view.status)) return view;
      onUpdate('job', view);
      await sleep(POLL_INTERVAL_MS, signal);
    }
  }

  /** The finished job's view (as GET /v1/jobs/:id shows it); updates go to onUpdate(type, data). */
  async function followJob(id, signal, onUpdate) {
    const url = '/v1/jobs/' + encodeURIComponent(id);
    return (await streamJob(url, signal, onUpdate)) || (await pollJob(url, signal, onUpdate));
  }

  return { ApiFailure: ApiFailure, request: request, failureOf: failureOf, followJob: followJob };
}
`;
