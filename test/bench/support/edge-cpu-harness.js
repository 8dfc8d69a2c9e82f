// A module Worker run inside workerd beside the edge's deploy bundle (copied next to its index.js),
// to measure the edge's own CPU per request, which workerd does not report. The bench sends it the
// request to measure, and reads the workerd process's CPU time around each call:
//   POST /?mode=record&n=K the request once through the edge, then K times more with every binding
//                          wrapped, recording each call they make (KV get, Durable Object RPC, R2
//                          head, …) and its arguments: like every measured one, they meet the
//                          isolate's memory (key records, stored images, leased rate-limit slots)
//                          as it is under load, so not every request makes every call;
//   POST /?mode=edge&n=N   the request N times through the edge, one after another;
//   POST /?mode=replay&n=N the binding calls of N requests (N × calls recorded ÷ K), in order,
//                          without the edge (&only=NAME: N calls of that name).
// The local KV, R2 and Durable Object simulators run in the same workerd process, so they cost edge
// and replay alike: (CPU of edge − CPU of replay) / N is the edge Worker's own CPU per request.
import edge from './index.js';

export { JobState, RateLimiter } from './index.js';

/** Binding calls of the recorded requests: the binding's name, then each method and its arguments. */
let recorded = [];
/** How many requests made them. */
let recordedRequests = 0;

const callName = ([binding, ...steps]) => [binding, ...steps.map((s) => s.method)].join('.');

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
      recordedRequests = n;
      const bindings = recordingEnv(env);
      let failures = 0;
      for (let i = 0; i < n; i++) {
        const response = await send(bindings);
        await response.arrayBuffer();
        if (response.status !== 200 || response.headers.get('X-Cache') !== 'HIT') failures++;
      }
      const counts = new Map();
      for (const call of recorded) counts.set(callName(call), (counts.get(callName(call)) ?? 0) + 1);
      return Response.json({
        failures,
        calls: [...counts].map(([call, count]) => ({ call, perRequest: count / n })),
      });
    }
    if (mode !== 'edge' && mode !== 'replay') {
      return new Response('mode must be record, edge or replay', { status: 400 });
    }
    if (mode === 'replay' && recorded.length === 0) {
      return new Response('nothing recorded yet: POST ?mode=record first', { status: 409 });
    }
    let failures = 0;
    if (mode === 'edge') {
      for (let i = 0; i < n; i++) {
        const response = await send(env);
        await response.arrayBuffer();
        if (response.status !== 200 || response.headers.get('X-Cache') !== 'HIT') failures++;
      }
      return Response.json({ n, failures });
    }
    const only = url.searchParams.get('only');
    const calls = only === null ? recorded : recorded.filter((call) => callName(call) === only);
    if (calls.length === 0) return new Response(`no call ${only}`, { status: 400 });
    const count = only === null ? Math.round((n * recorded.length) / recordedRequests) : n;
    for (let i = 0; i < count; i++) await replay(env, calls[i % calls.length]);
    return Response.json({ n, failures });
  },
};
