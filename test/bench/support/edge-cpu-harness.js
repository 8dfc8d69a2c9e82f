// A module Worker run inside workerd beside the edge's deploy bundle (copied next to its index.js),
// to measure the edge's own CPU per request, which workerd does not report. The bench sends it the
// request to measure, and reads the workerd process's CPU time around each call:
//   POST /?mode=record     the request once through the edge, then once more with every binding
//                          wrapped, recording each call it makes (KV get, Durable Object RPC, R2 head,
//                          …) and its arguments: the second, like every measured one, meets the
//                          isolate's memory of key records and stored images already filled;
//   POST /?mode=edge&n=N   the request N times through the edge, one after another;
//   POST /?mode=replay&n=N only the recorded binding calls, N times, in order, without the edge
//                          (&only=I: only the I-th of them).
// The local KV, R2 and Durable Object simulators run in the same workerd process, so they cost edge
// and replay alike: (CPU of edge − CPU of replay) / N is the edge Worker's own CPU per request.
import edge from './index.js';

export { JobState, RateLimiter } from './index.js';

/** Binding calls of the recorded request: the binding's name, then each method and its arguments. */
let recorded = [];

const isBinding = (value) =>
  typeof value === 'object' &&
  value !== null &&
  !Array.isArray(value) &&
  Object.getPrototypeOf(value) !== Object.prototype;

const isThenable = (value) =>
  (typeof value === 'object' || typeof value === 'function') &&
  value !== null &&
  typeof value.then === 'function';

/** Wraps a binding (or a stub it returned) so that each call ending in I/O is recorded with its path. */
function recording(target, path) {
  return new Proxy(target, {
    get(object, property) {
      const value = Reflect.get(object, property);
      if (typeof value !== 'function' || typeof property !== 'string') return value;
      return (...args) => {
        // Reflect.apply: an RPC stub would take `value.apply` for a remote method named "apply".
        const result = Reflect.apply(value, object, args);
        const step = [...path, { method: property, args: structuredClone(args) }];
        if (isThenable(result)) recorded.push(step);
        // A stub the call handed back (a Durable Object's, from getByName): its calls are recorded too.
        else if (result !== null && (typeof result === 'object' || typeof result === 'function')) {
          return recording(result, step);
        }
        return result;
      };
    },
  });
}

function recordingEnv(env) {
  return Object.fromEntries(
    Object.entries(env).map(([name, value]) => [name, isBinding(value) ? recording(value, [name]) : value]),
  );
}

async function replay(env, [binding, ...steps]) {
  let target = env[binding];
  for (const { method, args } of steps) target = target[method](...args);
  await target;
}

export default {
  async fetch(request, env, ctx) {
    const url = new URL(request.url);
    const mode = url.searchParams.get('mode');
    const n = Number(url.searchParams.get('n') ?? 1);
    const body = await request.text();
    const target = new URL('/v1/images', url);
    // Framed as the load test's client frames it: a Content-Length, not chunks.
    const headers = new Headers(request.headers);
    headers.delete('Transfer-Encoding');
    headers.set('Content-Length', String(new TextEncoder().encode(body).byteLength));
    const send = (bindings) =>
      edge.fetch(new Request(target, { method: 'POST', headers, body }), bindings, ctx);

    if (mode === 'record') {
      await (await send(env)).arrayBuffer();
      recorded = [];
      const response = await send(recordingEnv(env));
      await response.arrayBuffer();
      return Response.json({
        status: response.status,
        cache: response.headers.get('X-Cache'),
        calls: recorded.map(([binding, ...steps]) => [binding, ...steps.map((s) => s.method)].join('.')),
      });
    }
    if (mode !== 'edge' && mode !== 'replay') {
      return new Response('mode must be record, edge or replay', { status: 400 });
    }
    if (mode === 'replay' && recorded.length === 0) {
      return new Response('nothing recorded yet: POST ?mode=record first', { status: 409 });
    }
    const only = url.searchParams.get('only');
    const calls = only === null ? recorded : [recorded[Number(only)]];
    if (calls.some((call) => call === undefined)) return new Response(`no call ${only}`, { status: 400 });
    let failures = 0;
    for (let i = 0; i < n; i++) {
      if (mode === 'edge') {
        const response = await send(env);
        await response.arrayBuffer();
        if (response.status !== 200 || response.headers.get('X-Cache') !== 'HIT') failures++;
      } else {
        for (const call of calls) await replay(env, call);
      }
    }
    return Response.json({ n, failures });
  },
};
