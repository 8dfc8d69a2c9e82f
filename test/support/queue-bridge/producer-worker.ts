// A producer Worker for test/queue-bridge.test.ts: sends what it is POSTed through a real queue
// producer binding, as the edge does, so the test sees a message go from a binding under
// `wrangler dev` through the bridge (bridge-worker.ts) into the fake Queues API.
// POST /send/<BINDING>?content_type=json|text sends the request body (parsed, for json) and
// answers 202; GET /health answers 200 once the Worker runs.
// Typed by hand: test/ type-checks against Node's types, not @cloudflare/workers-types.

interface Producer {
  send(body: unknown, options: { contentType: 'json' | 'text' }): Promise<void>;
}

export default {
  async fetch(request: Request, env: Record<string, Producer | undefined>): Promise<Response> {
    const url = new URL(request.url);
    if (url.pathname === '/health') return new Response('ok');
    const binding = /^\/send\/([A-Z_0-9]+)$/.exec(url.pathname)?.[1];
    const producer = binding ? env[binding] : undefined;
    if (request.method !== 'POST' || !producer) return new Response('no such producer', { status: 404 });
    const contentType = url.searchParams.get('content_type') === 'text' ? 'text' : 'json';
    const body = contentType === 'json' ? await request.json() : await request.text();
    await producer.send(body, { contentType });
    return new Response(null, { status: 202 });
  },
};
