// End to end: a job's progress from the denoise loop to the client, through the real gpu-worker
// and the edge under `wrangler dev`: the event stream (queued → steps in order → previews → done),
// Last-Event-ID resume, polling, progress webhooks, and cancel mid-job.
import { readEvents } from '@latent-edge/shared/sse/server-sent-events';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestStack, type TestStack } from '../support/local-stack.ts';
import { pngSize } from '../support/png.ts';
import {
  startWebhookReceiver,
  verifiesStandardWebhook,
  type WebhookReceiver,
} from '../support/webhook-receiver.ts';

let env: TestStack;
let receiver: WebhookReceiver;
let edge: string;
let key: string;

beforeAll(async () => {
  receiver = await startWebhookReceiver();
  env = await startTestStack({
    edgeVars: { ALLOW_LOCAL_WEBHOOKS: 'true' },
  });
  edge = env.info.edgeUrl;
  key = env.info.apiKey;
});

afterAll(async () => {
  await env?.close();
  await receiver?.close();
});

const auth = () => ({ Authorization: `Bearer ${key}` });

interface StreamEvent {
  id?: string;
  event?: string;
  data: Record<string, unknown>;
}

interface JobView {
  id: string;
  status: string;
  progress?: { step: number; steps: number | null; queue_position: number | null };
  result?: { images: { url: string; seed: number }[] };
}

async function startJob(body: object): Promise<JobView> {
  const response = await fetch(`${edge}/v1/images`, {
    method: 'POST',
    headers: { ...auth(), 'Content-Type': 'application/json', Prefer: 'respond-async' },
    body: JSON.stringify(body),
  });
  expect(response.status).toBe(202);
  return (await response.json()) as JobView;
}

function openStream(id: string, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${edge}/v1/jobs/${id}/events`, { headers: { ...auth(), ...headers } });
}

/** Reads events until the stream ends, or until `stopAfter` says so (then disconnects). */
async function readStream(
  response: Response,
  stopAfter?: (e: StreamEvent) => boolean,
): Promise<StreamEvent[]> {
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toBe('text/event-stream');
  const events: StreamEvent[] = [];
  for await (const message of readEvents(response.body as ReadableStream<Uint8Array>)) {
    const event = { id: message.id, event: message.event, data: JSON.parse(message.data) };
    events.push(event);
    if (stopAfter?.(event)) break; // leaving the loop cancels the body: a disconnect
  }
  return events;
}

const steps = (events: StreamEvent[]) =>
  events.filter((e) => e.event === 'progress').map((e) => e.data.step as number);

describe('job progress through the edge', () => {
  it('streams queued → every step in order → previews → done with the result', async () => {
    const job = await startJob({
      prompt: 'a green star in the center on a white background',
      steps: 40,
      seed: 11,
      preview_every: 5,
    });
    const events = await readStream(await openStream(job.id));
    const names = events.map((e) => e.event);
    expect(names.at(-1)).toBe('done');
    const done = events.at(-1)?.data as unknown as JobView;
    expect(done).toMatchObject({ id: job.id, status: 'succeeded' });
    const png = new Uint8Array(await (await fetch(done.result?.images[0].url as string)).arrayBuffer());
    expect(pngSize(png)).toEqual({ width: 64, height: 64 });

    // Steps strictly increasing up to the last; a stream opened late starts from a snapshot, but
    // this one opens right after the 202 and sees most of a 40-step job. (N counts model
    // evaluations: 40 for DDIM, 41 for PNDM's extra warm-up step.)
    const seen = steps(events);
    const total = events.findLast((e) => e.event === 'progress')?.data.steps as number;
    expect(total).toBeGreaterThanOrEqual(40);
    expect(seen.at(-1)).toBe(total);
    expect(seen.length).toBeGreaterThanOrEqual(20);
    for (let i = 1; i < seen.length; i++) expect(seen[i]).toBeGreaterThan(seen[i - 1]);
    // Queue position (if seen) comes before any step; ids increase.
    const queued = names.indexOf('queued');
    if (queued >= 0) expect(queued).toBeLessThan(names.indexOf('progress'));
    const ids = events.map((e) => Number(e.id));
    for (let i = 1; i < ids.length; i++) expect(ids[i]).toBeGreaterThanOrEqual(ids[i - 1]);

    const previews = events.filter((e) => e.event === 'preview');
    expect(previews.length).toBeGreaterThanOrEqual(1);
    for (const preview of previews) {
      expect((preview.data.step as number) % 5).toBe(0);
      const image = preview.data.image as string;
      const meta = await sharp(
        Buffer.from(image.replace(/^data:image\/webp;base64,/, ''), 'base64'),
      ).metadata();
      expect([meta.format, meta.width, meta.height]).toEqual(['webp', 64, 64]);
    }

    // Polling clients see the last progress on the job; a finished job's stream is its end.
    const polled = (await (await fetch(`${edge}/v1/jobs/${job.id}`, { headers: auth() })).json()) as JobView;
    expect(polled.progress).toMatchObject({ step: total, steps: total, queue_position: null });
    const after = await readStream(await openStream(job.id));
    expect(after.map((e) => e.event)).toEqual(['done']);
  });

  it('resumes after Last-Event-ID with nothing missed and nothing repeated', async () => {
    const job = await startJob({
      prompt: 'a red square in the top left on a black background',
      width: 256,
      height: 256,
      steps: 50,
      seed: 12,
    });
    const first = await readStream(
      await openStream(job.id),
      (e) => e.event === 'progress' && (e.data.step as number) >= 5,
    );
    const lastId = first.at(-1)?.id as string;
    const rest = await readStream(await openStream(job.id, { 'Last-Event-ID': lastId }));
    expect(rest.at(-1)?.event).toBe('done');
    const all = [...steps(first), ...steps(rest)];
    expect(all.at(-1)).toBe(rest.findLast((e) => e.event === 'progress')?.data.steps);
    // Every step from the first seen to the last, exactly once, across the two connections.
    expect(all).toEqual(Array.from({ length: all.length }, (_, i) => all[0] + i));
    expect(Number(rest[0].id)).toBe(Number(lastId) + 1);
  });

  it('tells a webhook that asked for progress, at most once a second, then the outcome', async () => {
    const job = await startJob({
      prompt: 'a blue circle at the bottom on a yellow background',
      width: 256,
      height: 256,
      steps: 50,
      seed: 13,
      webhook: `${receiver.url}/hooks/progress`,
      webhook_events: ['completed', 'progress'],
    });
    const final = await waitFor(() =>
      receiver.deliveries.find(
        (d) => d.path === '/hooks/progress' && (JSON.parse(d.body) as JobView).status === 'succeeded',
      ),
    );
    const deliveries = receiver.deliveries.filter((d) => d.path === '/hooks/progress');
    const progress = deliveries.filter((d) => (JSON.parse(d.body) as JobView).status === 'running');
    expect(progress.length).toBeGreaterThanOrEqual(1);
    const { secret } = (await (await fetch(`${edge}/v1/webhook-secret`, { headers: auth() })).json()) as {
      secret: string;
    };
    for (const delivery of [...progress, final]) expect(verifiesStandardWebhook(secret, delivery)).toBe(true);
    const bodies = progress.map((d) => JSON.parse(d.body) as JobView);
    expect(bodies.every((b) => b.id === job.id && typeof b.progress?.step === 'number')).toBe(true);
    const times = progress.map((d) => Number(d.headers['webhook-timestamp']));
    // Timestamps are whole seconds: two deliveries a second apart never share more than one.
    for (let i = 2; i < times.length; i++) expect(times[i] - times[i - 2]).toBeGreaterThanOrEqual(1);
    expect(deliveries.indexOf(final)).toBe(deliveries.length - 1);
  });

  it('cancels mid-job: the stream ends with cancelled within a step and no image is stored', async () => {
    const body = {
      prompt: 'a purple diamond on the right on a green background',
      width: 256,
      height: 256,
      steps: 50,
      seed: 14,
    };
    const job = await startJob(body);
    let cancel: Promise<Response> | undefined;
    const events = await readStream(await openStream(job.id), (e) => {
      if (e.event === 'progress' && (e.data.step as number) >= 3 && !cancel) {
        cancel = fetch(`${edge}/v1/jobs/${job.id}`, { method: 'DELETE', headers: auth() });
      }
      return false;
    });
    expect(events.at(-1)?.event).toBe('cancelled');
    expect(((await cancel) as Response).status).toBe(200);
    expect(Math.max(...steps(events))).toBeLessThan(50);
    const view = (await (await fetch(`${edge}/v1/jobs/${job.id}`, { headers: auth() })).json()) as JobView;
    expect(view.status).toBe('cancelled');
    expect(view.result).toBeUndefined();
    // Nothing was stored under the request's key: the same request is a miss, not a hit.
    const again = await fetch(`${edge}/v1/images`, {
      method: 'POST',
      headers: { ...auth(), 'Content-Type': 'application/json' },
      body: JSON.stringify(body),
    });
    expect(again.status).toBe(200);
    expect(again.headers.get('X-Cache')).toBe('MISS');
  });

  it('shows a job only to its own key', async () => {
    const job = await startJob({ prompt: 'a white triangle', steps: 2, seed: 15 });
    expect((await fetch(`${edge}/v1/jobs/${job.id}/events`)).status).toBe(401);
    const other = await fetch(`${edge}/v1/jobs/${job.id}/events`, {
      headers: { Authorization: 'Bearer le_wrong' },
    });
    expect(other.status).toBe(401);
    const unknown = await openStream('00000000-0000-4000-8000-000000000000');
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toMatchObject({ error: { code: 'not_found' } });
    await readStream(await openStream(job.id));
  });
});

async function waitFor<T>(find: () => T | undefined, timeoutMs = 90_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = find();
    if (found) return found;
    if (Date.now() > deadline) throw new Error(`nothing arrived within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
