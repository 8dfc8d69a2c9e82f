// How JSON bodies are read against the route's limit: whole when a Content-Length frames them,
// counted while streaming otherwise, and 413 either way once past the limit (MAX_BODY_BYTES,
// 12 MiB in wrangler.toml). These Requests go straight to the Worker's fetch handler, because
// only there can a body disagree with its headers; over HTTP the runtime frames it.
import { createExecutionContext, env } from 'cloudflare:test';
import { beforeAll, describe, expect, it } from 'vitest';
import worker from '../src/index.ts';
import { createApiKey, type ErrorBody, ORIGIN } from './support/api.ts';

const MIB = 1024 * 1024;

let key: string;
beforeAll(async () => {
  key = (await createApiKey({ rateLimit: { requests: 10_000, window_seconds: 60 } })).key;
});

/** A body of `mebibytes` × 1 MiB of JSON-ish bytes, counting the chunks pulled from it. */
function countedBody(mebibytes: number) {
  const pulled = { chunks: 0 };
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (pulled.chunks++ === mebibytes) return controller.close();
      controller.enqueue(new TextEncoder().encode(' '.repeat(MIB)));
    },
  });
  return { stream, pulled };
}

async function post(body: BodyInit, headers: Record<string, string>) {
  const request = new Request(`${ORIGIN}/v1/images`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${key}`, ...headers },
    body,
  });
  const response = await worker.fetch(request, env, createExecutionContext());
  return {
    status: response.status,
    error: response.ok ? undefined : ((await response.json()) as ErrorBody).error,
  };
}

describe('request bodies', () => {
  it('reads a body its Content-Length declares, and validates what it holds', async () => {
    const body = JSON.stringify({ prompt: 'a cat', width: 80 });
    const { status, error } = await post(body, { 'Content-Length': String(body.length) });
    expect(status).toBe(400);
    expect(error?.field).toBe('width');
  });

  it('refuses with 413 a body longer than the Content-Length it declared', async () => {
    const { stream } = countedBody(13);
    const { status, error } = await post(stream, { 'Content-Length': '100' });
    expect(status).toBe(413);
    expect(error?.code).toBe('too_large');
  });

  it('counts a chunked body while it streams, whatever Content-Length says, and stops at the limit', async () => {
    const { stream, pulled } = countedBody(64);
    const { status } = await post(stream, { 'Content-Length': '100', 'Transfer-Encoding': 'chunked' });
    expect(status).toBe(413);
    expect(pulled.chunks).toBeLessThan(20);
  });
});
