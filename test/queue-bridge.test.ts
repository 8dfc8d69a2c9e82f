// The queue bridge (test/support/queue-bridge/) under a real `wrangler dev` with two configs: a
// producer Worker's queue binding sends, Miniflare delivers to the bridge Worker declared in the
// second config, and the message is pulled from the fake Cloudflare Queues API with its body
// intact. This is what settles that `wrangler dev -c <edge config> -c <bridge config>` joins a
// producer in one config to a consumer in another. It also prints how long a message takes from
// `send()` to being in the fake (a measurement for the lead, never asserted).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeQueues } from './support/fake-queues.ts';
import { writeQueueBridgeConfig } from './support/queue-bridge/bridge-config.ts';
import { type MultiWorkerDev, startMultiWorkerDev } from './support/queue-bridge/multi-worker-dev.ts';
import { writeProducerConfig } from './support/queue-bridge/producer-config.ts';

const INTERACTIVE = 'latent-edge-gpu-tiny-sd-interactive';
const BATCH = 'latent-edge-gpu-tiny-sd-batch';
const BINDINGS = { GPU_TINY_SD_INTERACTIVE: INTERACTIVE, GPU_TINY_SD_BATCH: BATCH };

let fake: FakeQueues;
let dev: MultiWorkerDev | undefined;
let dir: string;
const lines: string[] = [];

beforeAll(async () => {
  // Real time: Miniflare's broker and the bridge run on the wall clock anyway.
  fake = new FakeQueues({ queues: [{ name: INTERACTIVE }, { name: BATCH }] });
  const apiBase = await fake.start();
  dir = mkdtempSync(join(tmpdir(), 'latent-edge-queue-bridge-'));
  const bridge = writeQueueBridgeConfig({
    dir,
    queues: Object.values(BINDINGS),
    apiBase,
    accountId: fake.accountId,
    token: fake.token,
  });
  dev = await startMultiWorkerDev({
    configs: [writeProducerConfig(dir, BINDINGS), bridge],
    cwd: resolve(import.meta.dirname, '..'),
    persistTo: join(dir, 'state'),
    wranglerLogPath: join(dir, 'wrangler-logs'),
    onLine: (line) => lines.push(line),
  });
  try {
    await dev.ready('/health', 150_000);
  } catch (error) {
    throw new Error(`${(error as Error).message}\n--- wrangler dev ---\n${lines.slice(-40).join('\n')}`);
  }
}, 180_000);

afterAll(async () => {
  await dev?.stop();
  await fake?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
}, 30_000);

async function send(binding: keyof typeof BINDINGS, body: unknown, contentType: 'json' | 'text' = 'json') {
  const response = await fetch(`${dev?.url}/send/${binding}?content_type=${contentType}`, {
    method: 'POST',
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  expect(response.status, await response.text()).toBe(202);
}

async function pullAll(queue: string) {
  const response = await fetch(`${fake.apiBase}/accounts/${fake.accountId}/queues/${queue}/messages/pull`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${fake.token}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ batch_size: 100 }),
  });
  expect(response.status).toBe(200);
  const { result } = (await response.json()) as {
    result: { messages: { body: string; attempts: number; metadata: Record<string, string> }[] };
  };
  return result.messages;
}

const decodeJson = (body: string) => JSON.parse(Buffer.from(body, 'base64').toString('utf8'));
let arrivedInInteractive = 0;

/** Sends through the binding and waits until the fake has the message; returns the milliseconds. */
async function sendAndMeasure(binding: keyof typeof BINDINGS, body: unknown): Promise<number> {
  const queue = BINDINGS[binding];
  const before = fake.messages(queue).length;
  const start = performance.now();
  await send(binding, body);
  await fake.waitForMessages(queue, before + 1, 60_000);
  return performance.now() - start;
}

describe('queue bridge under wrangler dev with two configs', () => {
  it('delivers a message from a producer binding in one config to the fake, body intact', async () => {
    const job = {
      job_id: 'job-0001',
      model: 'tiny-sd',
      revision: 'd09077e1755d81eb',
      tier: 'interactive',
      deadline: 1_796_661_651_343,
      note: 'ünïcode ✓',
    };
    const firstMs = await sendAndMeasure('GPU_TINY_SD_INTERACTIVE', job);
    const [message, ...rest] = await pullAll(INTERACTIVE);
    expect(rest).toEqual([]);
    expect(decodeJson(message.body)).toEqual(job);
    expect(message.metadata['CF-Content-Type']).toBe('json');
    expect(message.attempts).toBe(1);

    const laterMs: number[] = [];
    for (let i = 0; i < 5; i++) laterMs.push(await sendAndMeasure('GPU_TINY_SD_INTERACTIVE', { ...job, i }));
    arrivedInInteractive = 6;
    expect((await pullAll(INTERACTIVE)).map((m) => decodeJson(m.body).i)).toEqual([0, 1, 2, 3, 4]);
    const sorted = [...laterMs].sort((a, b) => a - b);
    console.log(
      `queue bridge: send() → available in the fake: first ${firstMs.toFixed(0)} ms; ` +
        `next ${sorted.length}: median ${sorted[2].toFixed(0)} ms, max ${sorted[4].toFixed(0)} ms`,
    );
    fake.assertNoViolations();
  });

  it('puts each queue’s messages in the fake queue of the same name', async () => {
    await sendAndMeasure('GPU_TINY_SD_BATCH', { job_id: 'job-batch', tier: 'batch' });
    expect((await pullAll(BATCH)).map((m) => decodeJson(m.body))).toEqual([
      { job_id: 'job-batch', tier: 'batch' },
    ]);
    expect(fake.requests.filter((r) => r.route === 'push' && r.queue === INTERACTIVE)).toHaveLength(
      arrivedInInteractive,
    );
    fake.assertNoViolations();
  });

  it('forwards a text message as text', async () => {
    const before = fake.messages(BATCH).length;
    await send('GPU_TINY_SD_BATCH', 'plain words', 'text');
    await fake.waitForMessages(BATCH, before + 1, 60_000);
    const [message] = await pullAll(BATCH);
    expect(message.body).toBe('plain words');
    expect(message.metadata['CF-Content-Type']).toBe('text');
    fake.assertNoViolations();
  });

  it('retries a push the fake failed, and the message arrives once', async () => {
    fake.failNext('push', 2, { status: 503 });
    await sendAndMeasure('GPU_TINY_SD_BATCH', { job_id: 'job-retried' });
    const pushes = fake.requests.filter((r) => r.route === 'push').slice(-3);
    expect(pushes.map((r) => [r.status, (r.body as { body: { job_id: string } }).body.job_id])).toEqual([
      [503, 'job-retried'],
      [503, 'job-retried'],
      [200, 'job-retried'],
    ]);
    expect((await pullAll(BATCH)).map((m) => decodeJson(m.body))).toEqual([{ job_id: 'job-retried' }]);
    fake.assertNoViolations();
  });
});
