// The pull loop as a deployment meets it: the fake Cloudflare Queues API on loopback (it checks
// every request), a signed stand-in of the edge's dispatch routes on loopback, and the real
// StepBatcher running the bundled model on CPU. Messages go in through the fake's push route as
// json (so they come out base64-encoded, as Cloudflare delivers them).
import { randomUUID } from 'node:crypto';
import type { DispatchMessage, Tier } from '@latent-edge/shared/protocol/dispatch';
import { afterEach, describe, expect, it } from 'vitest';
import { FakeQueues } from '../../test/support/fake-queues.ts';
import { TEST_GPU_SECRET } from '../../test/support/gpu-worker-process.ts';
import { TextEncoderCache } from '../src/pipeline/text-encoder-cache.ts';
import { EdgeClient } from '../src/pull/edge-client.ts';
import { PullLoop } from '../src/pull/pull-loop.ts';
import { QueuesClient } from '../src/pull/queues-client.ts';
import { createMetrics } from '../src/service/metrics.ts';
import { StepBatcher } from '../src/service/step-batcher.ts';
import { EdgeDispatchStandIn, type StandInJob } from './support/edge-dispatch-stand-in.ts';
import { job } from './support/jobs.ts';
import { BUNDLED_MODEL, model } from './support/models.ts';

const QUEUE = { interactive: 'tiny-sd-interactive', batch: 'tiny-sd-batch' } as const;
const VISIBILITY_MS = 180_000;

interface Rig {
  fake: FakeQueues;
  edge: EdgeDispatchStandIn;
  loop: PullLoop;
  metrics: ReturnType<typeof createMetrics>;
  logs: string[];
  enqueue: (tier: Tier, body: unknown, contentType?: 'json' | 'text') => Promise<void>;
  /** Adds the job at the edge and its message to the tier's queue. */
  submit: (
    tier: Tier,
    overrides?: Record<string, unknown>,
    script?: Partial<StandInJob>,
  ) => Promise<StandInJob>;
}

let rig: Rig | undefined;

async function setUp(options: { maxBatch: number; maxAttempts?: number; maxRetries?: number }): Promise<Rig> {
  const maxRetries = options.maxRetries ?? 3;
  const fake = new FakeQueues({
    queues: [
      { name: QUEUE.interactive, maxRetries },
      { name: QUEUE.batch, maxRetries },
    ],
  });
  const apiUrl = await fake.start();
  const edge = new EdgeDispatchStandIn(TEST_GPU_SECRET);
  const edgeUrl = await edge.start();
  const m = await model(BUNDLED_MODEL);
  const metrics = createMetrics();
  const batchers = new Map([
    [
      m.id,
      new StepBatcher(m, { maxBatch: options.maxBatch, queueSize: 32 }, new TextEncoderCache(), metrics),
    ],
  ]);
  const logs: string[] = [];
  const loop = new PullLoop({
    queues: (['interactive', 'batch'] as const).map((tier) => ({
      model: m.id,
      tier,
      queueId: fake.queueId(QUEUE[tier]),
    })),
    client: new QueuesClient({ apiUrl, accountId: fake.accountId, token: fake.token }),
    edge: new EdgeClient({ edgeUrl, secret: TEST_GPU_SECRET, resultRetryDelaysMs: [10, 10, 10] }),
    intake: { models: new Map([[m.id, m]]), batchers, loras: new Map(), jobTimeoutMs: 120_000 },
    batchers,
    metrics,
    log: (line) => logs.push(line),
    workerName: 'test-worker',
    maxAttempts: options.maxAttempts ?? 4,
    maxBatch: options.maxBatch,
    visibilityTimeoutMs: VISIBILITY_MS,
    interactiveWeight: 4,
    idleMaxMs: 100,
    progressIntervalMs: 50,
  });
  const enqueue = async (tier: Tier, body: unknown, contentType: 'json' | 'text' = 'json') => {
    const response = await fetch(`${apiUrl}/accounts/${fake.accountId}/queues/${QUEUE[tier]}/messages`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${fake.token}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ body, content_type: contentType }),
    });
    expect(response.status).toBe(200);
  };
  const submit = async (
    tier: Tier,
    overrides: Record<string, unknown> = {},
    script: Partial<StandInJob> = {},
  ) => {
    const body = job({ job_id: randomUUID(), steps: 2, ...overrides });
    const standIn = edge.add(body, script);
    const message: DispatchMessage = {
      job_id: body.job_id,
      model: m.id,
      revision: m.revision,
      tier,
      deadline: Date.now() + 600_000,
    };
    await enqueue(tier, message);
    return standIn;
  };
  rig = { fake, edge, loop, metrics, logs, enqueue, submit };
  return rig;
}

afterEach(async () => {
  await rig?.loop.drain();
  await rig?.fake.close();
  await rig?.edge.close();
  rig = undefined;
});

/** Polls until `condition` holds; the test's own timeout bounds the wait. */
async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setTimeout(resolve, 20));
}

const pullBodies = (fake: FakeQueues) =>
  fake.requests
    .filter((r) => r.route === 'pull')
    .map((r) => r.body as { batch_size: number; visibility_timeout_ms: number });
const ackBodies = (fake: FakeQueues) =>
  fake.requests
    .filter((r) => r.route === 'ack')
    .map(
      (r) =>
        r.body as { acks: { lease_id: string }[]; retries: { lease_id: string; delay_seconds: number }[] },
    );

/** The state of the message carrying `jobId`, in either queue. */
function messageState(fake: FakeQueues, jobId: string): string | undefined {
  for (const queue of Object.values(QUEUE)) {
    for (const message of fake.messages(queue)) {
      const body = JSON.parse(Buffer.from(message.body, 'base64').toString('utf8')) as { job_id?: string };
      if (body.job_id === jobId) return message.state;
    }
  }
  return undefined;
}

async function counter(metric: { get: () => Promise<{ values: { value: number; labels: object }[] }> }) {
  return (await metric.get()).values.reduce((sum, v) => sum + v.value, 0);
}

const settled = (fake: FakeQueues) => Object.values(QUEUE).reduce((n, q) => n + fake.stats(q).acked, 0);

describe('gpu-worker pull loop', () => {
  it('runs pulled jobs in free-slot-sized pulls and posts each result before acknowledging it', async () => {
    const { fake, edge, loop, metrics, submit } = await setUp({ maxBatch: 2 });
    const jobs = [
      await submit('interactive', { seeds: [3] }),
      await submit('interactive', { seeds: [4] }, { failResults: 1 }),
      await submit('interactive', { seeds: [5] }),
    ];
    const stillLeased: string[] = [];
    edge.onResult = (jobId) => stillLeased.push(`${jobId} ${messageState(fake, jobId)}`);
    loop.start();
    await until(() => fake.stats(QUEUE.interactive).acked === 3);

    for (const j of jobs) {
      expect(j.results).toHaveLength(1);
      expect(j.results[0].images.map((i) => i.seed)).toEqual(j.body.seeds);
      expect([...j.results[0].images[0].bytes.subarray(1, 4)]).toEqual([0x50, 0x4e, 0x47]);
      expect(j.claims).toEqual([
        { job_id: j.body.job_id, worker: 'test-worker', message_id: expect.any(String), attempts: 1 },
      ]);
      expect(messageState(fake, j.body.job_id)).toBe('acked');
    }
    // The result post that answered 503 was posted again; every result came while its message was leased.
    expect(edge.calls.filter((c) => c === `result ${jobs[1].body.job_id}`)).toHaveLength(2);
    expect(stillLeased.sort()).toEqual(jobs.map((j) => `${j.body.job_id} leased`).sort());

    const pulls = pullBodies(fake);
    expect(pulls[0]).toEqual({ batch_size: 2, visibility_timeout_ms: VISIBILITY_MS });
    expect(pulls.every((p) => p.batch_size >= 1 && p.batch_size <= 2)).toBe(true);
    expect(pulls.some((p) => p.batch_size === 1)).toBe(true);
    const waits = (await metrics.queueWaitSeconds.get()).values.find(
      (v) => v.metricName?.endsWith('_count') && v.labels.tier === 'interactive',
    );
    expect(waits?.value).toBe(3);
    expect(
      (await metrics.pulls.get()).values.find(
        (v) => v.labels.result === 'messages' && v.labels.queue === fake.queueId(QUEUE.interactive),
      )?.value,
    ).toBeGreaterThanOrEqual(2);
    expect(await counter(metrics.redeliveries)).toBe(0);
    fake.assertNoViolations();
    edge.assertNoViolations();
  });

  it('takes interactive work first, 4 pulls in 5, and batch work still gets its turn', async () => {
    const { fake, edge, loop, submit } = await setUp({ maxBatch: 1 });
    const tierOf = new Map<string, Tier>();
    for (const tier of [
      'interactive',
      'interactive',
      'interactive',
      'batch',
      'interactive',
      'batch',
    ] as const) {
      tierOf.set((await submit(tier)).body.job_id, tier);
    }
    for (const tier of ['interactive', 'interactive', 'batch', 'batch'] as const) {
      tierOf.set((await submit(tier)).body.job_id, tier);
    }
    loop.start();
    await until(() => settled(fake) === 10);
    const order = edge.calls.filter((c) => c.startsWith('claim ')).map((c) => tierOf.get(c.slice(6)));
    // Rounds 1-4 interactive, round 5 batch, then interactive until it runs dry.
    expect(order.map((t) => t?.[0]).join('')).toBe('iiiibiibbb');
    expect([...edge.jobs.values()].every((j) => j.results.length === 1)).toBe(true);
    fake.assertNoViolations();
    edge.assertNoViolations();
  });

  it('retries a job claimed elsewhere after Retry-After, and skips finished, expired and malformed ones', async () => {
    const { fake, edge, loop, metrics, enqueue, submit } = await setUp({ maxBatch: 2 });
    const held = await submit('interactive', {}, { claimRefusals: [{ status: 409, retryAfter: 1 }] });
    const finished = await submit('interactive', {}, { claimRefusals: [{ status: 410, code: 'finished' }] });
    const late = randomUUID();
    await enqueue('batch', {
      job_id: late,
      model: 'tiny-sd',
      revision: 'r',
      tier: 'batch',
      deadline: Date.now() - 1,
    });
    await enqueue('batch', 'this is not a job', 'text');
    loop.start();
    await until(() => held.results.length === 1 && settled(fake) === 4);

    expect(held.claims.map((c) => c.attempts)).toEqual([1, 2]);
    const retries = ackBodies(fake).flatMap((a) => a.retries);
    expect(retries).toEqual([{ lease_id: expect.any(String), delay_seconds: 1 }]);
    expect(finished.claims).toHaveLength(1);
    expect(finished.results).toHaveLength(0);
    expect(edge.calls.some((c) => c.endsWith(late))).toBe(false);
    expect(fake.stats(QUEUE.batch)).toMatchObject({ acked: 2, retried: 0, deadLettered: 0 });
    expect(await counter(metrics.redeliveries)).toBe(1);
    fake.assertNoViolations();
    edge.assertNoViolations();
  });

  it('cancels the job when a progress answer says cancel, reports it and acknowledges it', async () => {
    const { fake, edge, loop, submit } = await setUp({ maxBatch: 2 });
    const cancelled = await submit(
      'interactive',
      { steps: 150, width: 128, height: 128 },
      { cancelAtStep: 1 },
    );
    loop.start();
    await until(() => settled(fake) === 1);
    expect(cancelled.results).toHaveLength(0);
    expect(cancelled.failures).toEqual([
      expect.objectContaining({ code: 'cancelled', status: 409, retryable: false }),
    ]);
    // Progress was posted while it ran, and it stopped well before its last step.
    const steps = cancelled.events.flatMap((e) => (e.type === 'progress' ? [e.step] : []));
    expect(steps.length).toBeGreaterThan(0);
    expect(Math.max(...steps)).toBeLessThan(150);
    fake.assertNoViolations();
    edge.assertNoViolations();
  });

  it('retries a failure that could work elsewhere, reports the last allowed delivery as final', async () => {
    const { fake, edge, loop, submit } = await setUp({ maxBatch: 2, maxAttempts: 2, maxRetries: 1 });
    // Another revision than the one served: a worker that has it could run the job.
    const elsewhere = await submit('interactive', { revision: 'a-newer-revision' });
    // The job's own error: final at once.
    const invalid = await submit('batch', { width: 72 });
    loop.start();
    await until(() => settled(fake) === 2);

    expect(elsewhere.claims.map((c) => c.attempts)).toEqual([1, 2]);
    expect(elsewhere.failures.map((f) => [f.code, f.retryable])).toEqual([
      ['revision_mismatch', true],
      ['revision_mismatch', false],
    ]);
    expect(elsewhere.failures[1].message).toMatch(
      /^gave up after 2 deliveries: model "tiny-sd" is at revision/,
    );
    expect(invalid.claims).toHaveLength(1);
    expect(invalid.failures).toEqual([
      expect.objectContaining({ code: 'invalid_request', status: 400, retryable: false }),
    ]);
    expect(fake.stats(QUEUE.interactive)).toMatchObject({ retried: 1, acked: 1, deadLettered: 0 });
    fake.assertNoViolations();
    edge.assertNoViolations();
  });

  it('drains: stops pulling at once, finishes what it holds, posts the results and acknowledges them', async () => {
    const { fake, edge, loop, submit } = await setUp({ maxBatch: 2 });
    const jobs: StandInJob[] = [];
    for (let i = 0; i < 4; i++)
      jobs.push(await submit('interactive', { steps: 150, width: 128, height: 128 }));
    loop.start();
    await until(() => jobs.filter((j) => j.claims.length > 0).length === 2);
    const pullsBefore = pullBodies(fake).length;
    await loop.drain();

    expect(pullBodies(fake)).toHaveLength(pullsBefore);
    expect(loop.holding).toBe(0);
    for (const j of jobs) {
      const claimed = j.claims.length > 0;
      expect(j.results).toHaveLength(claimed ? 1 : 0);
      expect(messageState(fake, j.body.job_id)).toBe(claimed ? 'acked' : 'available');
    }
    expect(fake.stats(QUEUE.interactive)).toMatchObject({ delivered: 2, acked: 2, available: 2 });
    fake.assertNoViolations();
    edge.assertNoViolations();
  });
});
