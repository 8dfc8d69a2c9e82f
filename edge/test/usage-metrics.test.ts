// GET /metrics' operator counters: behind OPERATOR_TOKEN (or METRICS_TOKEN), valid Prometheus
// text by promtool's own check, and moving with the requests, refusals, cache hits and jobs
// that go through the Worker. The Worker is called with the token set in a copy of the env,
// each call's waitUntil awaited, so its counts have landed before the next scrape.
import { createExecutionContext, env, waitOnExecutionContext } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import worker from '../src/index.ts';
import { createApiKey, type ErrorBody, ORIGIN, uniquePrompt } from './support/api.ts';

const OPERATOR_TOKEN = 'test-operator-token-0123456789abcdefghij';
const withToken = { ...env, OPERATOR_TOKEN } as Env;

async function send(path: string, init: RequestInit = {}, bindings: Env = withToken): Promise<Response> {
  const ctx = createExecutionContext();
  const response = await worker.fetch(new Request(`${ORIGIN}${path}`, init), bindings, ctx);
  const body = new Uint8Array(await response.arrayBuffer());
  await waitOnExecutionContext(ctx);
  return new Response(body, response);
}

async function scrape(): Promise<string> {
  const response = await send('/metrics', { headers: { Authorization: `Bearer ${OPERATOR_TOKEN}` } });
  expect(response.status).toBe(200);
  expect(response.headers.get('Content-Type')).toContain('text/plain; version=0.0.4');
  return response.text();
}

/** The value of the sample `series` (name{labels} exactly as exported), 0 when absent. */
function sample(text: string, series: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line ? Number(line.slice(series.length + 1)) : 0;
}

const generate = (key: string, prompt: string) =>
  send('/v1/images', {
    method: 'POST',
    headers: { Authorization: `Bearer ${key}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ prompt, seed: 5, steps: 2 }),
  });

describe('operator metrics', () => {
  it('answers 404 without OPERATOR_TOKEN or METRICS_TOKEN and 401 with a wrong token', async () => {
    const off = await send('/metrics', {}, { ...env, OPERATOR_TOKEN: '', METRICS_TOKEN: '' } as Env);
    expect(off.status).toBe(404);
    const wrong = await send('/metrics', { headers: { Authorization: 'Bearer not-the-token' } });
    expect(wrong.status).toBe(401);
    expect(wrong.headers.get('WWW-Authenticate')).toContain('Bearer');
    expect(((await wrong.json()) as ErrorBody).error.code).toBe('unauthorized');
    const none = await send('/metrics');
    expect(none.status).toBe(401);
  });

  it('exports text that promtool checks clean', async () => {
    const { key } = await createApiKey({ rateLimit: { requests: 100, window_seconds: 60 } });
    await generate(key, uniquePrompt('a teal kite'));
    const text = await scrape();
    const check = await fetch('http://promtool.test/check-metrics', { method: 'POST', body: text });
    const run = (await check.json()) as { status: number | null; output: string };
    expect(run.output).toBe('');
    expect(run.status).toBe(0);
  });

  it('counts requests by route and status, refusals by reason, jobs by outcome and cached images apart', async () => {
    const { key } = await createApiKey({ rateLimit: { requests: 2, window_seconds: 60 } });
    const prompt = uniquePrompt('a grey moon');
    const before = await scrape();

    expect((await generate(key, prompt)).status).toBe(200);
    const hit = await generate(key, prompt);
    expect(hit.headers.get('X-Cache')).toBe('HIT');
    expect((await generate(key, prompt)).status).toBe(429);
    const after = await scrape();

    const moved = (series: string) => sample(after, series) - sample(before, series);
    expect(moved('latent_edge_requests_total{route="/v1/images",method="POST",status="200"}')).toBe(2);
    expect(moved('latent_edge_requests_total{route="/v1/*",method="POST",status="429"}')).toBe(1);
    expect(moved('latent_edge_refusals_total{reason="rate_limited"}')).toBe(1);
    expect(moved('latent_edge_jobs_total{outcome="completed"}')).toBe(1);
    expect(moved('latent_edge_jobs_total{outcome="cache_hit"}')).toBe(1);
    expect(moved('latent_edge_images_total{source="gpu"}')).toBe(1);
    expect(moved('latent_edge_images_total{source="cache"}')).toBe(1);
  });

  it('counts a quota refusal under its reason and as a refused job', async () => {
    const { key } = await createApiKey({ quota: { images_per_day: 0 } });
    const before = await scrape();
    const refused = await generate(key, uniquePrompt('a white cloud'));
    expect(refused.status).toBe(429);
    const after = await scrape();
    const moved = (series: string) => sample(after, series) - sample(before, series);
    expect(moved('latent_edge_refusals_total{reason="quota_exceeded"}')).toBe(1);
    expect(moved('latent_edge_jobs_total{outcome="refused"}')).toBe(1);
  });
});
