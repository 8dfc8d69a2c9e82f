// Scale-out end to end: the edge under `wrangler dev` on its scale-out config (npm run
// scale-out:config) produces each job through its real queue bindings; the queue bridge hands the
// messages to the fake Cloudflare Queues REST API (test/support/fake-queues.ts, which checks every
// request); two real gpu-worker processes in pull mode pull, claim from the edge, run, post the
// result and ack. Shown here: jobs spread over both workers; a worker killed mid-job → the job is
// redelivered and finishes once, one image stored; a duplicate delivery runs at most once;
// cancel mid-job; SIGTERM drain while pulling; a flooding key cannot starve another; and the
// autoscaling query evaluated by promtool on what both services export.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findManifest, readManifests } from '../../infra/k8s/manifests.ts';
import type { FakeQueues } from '../support/fake-queues.ts';
import { metricValue, type RunningWorker } from '../support/gpu-worker-process.ts';
import type { TestStack } from '../support/local-stack.ts';
import { parseExposition, toInputSeries } from '../support/prometheus-exposition.ts';
import { promtool, scratchDir, writeYamlFile } from '../support/promtool.ts';
import {
  BATCH,
  INTERACTIVE,
  METRICS_TOKEN,
  type ScaleOutStack,
  startScaleOutStack,
} from '../support/scale-out-stack.ts';

/** A dead worker's message comes back this soon; jobs here take well under a second. */
const VISIBILITY_MS = 6000;

interface ImagesAnswer {
  images: { url: string }[];
}

describe('scale-out over queues with two pull workers', () => {
  let scaleOut: ScaleOutStack;
  let fake: FakeQueues;
  let stack: TestStack;
  let workers: RunningWorker[];
  const startWorker = (name: string) => scaleOut.startWorker(name);

  const generate = async (prompt: string, key = stack.info.apiKey, extra: object = {}) => {
    const response = await fetch(`${stack.stack.edgeUrl}/v1/images`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${key}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ prompt, seed: 5, ...extra }),
    });
    const text = await response.text();
    if (response.status !== 200) throw new Error(`${response.status}: ${text}`);
    return JSON.parse(text) as ImagesAnswer;
  };

  /** Images each worker finished, by its own metrics. */
  const finished = (worker: RunningWorker) =>
    metricValue(worker.url, 'latent_edge_jobs_total', 'outcome="done"');

  /** Waits until some worker holds a job; returns it. */
  const busyWorker = async (timeoutMs = 20_000): Promise<RunningWorker> => {
    const until = Date.now() + timeoutMs;
    while (Date.now() < until) {
      for (const worker of workers) {
        if (worker.process.exitCode !== null) continue;
        if ((await metricValue(worker.url, 'latent_edge_worker_slots', 'state="busy"')) > 0) return worker;
      }
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    throw new Error('no worker took the job');
  };

  const edgeMetrics = async () => {
    const response = await fetch(`${stack.stack.edgeUrl}/metrics`, {
      headers: { Authorization: `Bearer ${METRICS_TOKEN}` },
    });
    expect(response.status).toBe(200);
    return response.text();
  };

  const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

  /** The job ids of the messages on a queue, newest last. */
  const queuedJobIds = (queue: string) =>
    fake.messages(queue).map((m) => JSON.parse(Buffer.from(m.body, 'base64').toString('utf8')));

  beforeAll(async () => {
    scaleOut = await startScaleOutStack({
      workers: 2,
      extraKeys: 1,
      edgeVars: { MAX_IN_FLIGHT_PER_KEY: '2', DISPATCH_LEASE_MS: '2000', GPU_TIMEOUT_MS: '60000' },
      workerEnv: {
        MAX_BATCH: '2',
        JOB_TIMEOUT_MS: '5000',
        PULL_VISIBILITY_TIMEOUT_MS: String(VISIBILITY_MS),
        PULL_IDLE_MAX_MS: '200',
      },
    });
    ({ fake, stack, workers } = scaleOut);
  });

  afterAll(async () => {
    await scaleOut?.close();
  });

  it('spreads synchronous jobs over both workers, each answered with a stored image', async () => {
    const before = await Promise.all(workers.map(finished));
    const answers = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        generate(`a scale-out spread ${i}`, i % 2 ? stack.extraKeys[0] : undefined),
      ),
    );
    for (const answer of answers) {
      const image = await fetch(answer.images[0].url.replace(/^https?:\/\/[^/]+/, stack.stack.edgeUrl));
      expect(image.status).toBe(200);
      expect(image.headers.get('Content-Type')).toBe('image/png');
    }
    const after = await Promise.all(workers.map(finished));
    const done = after.map((n, i) => n - before[i]);
    expect(done[0] + done[1]).toBe(8);
    expect(done[0]).toBeGreaterThan(0);
    expect(done[1]).toBeGreaterThan(0);
    fake.assertNoViolations();
  });

  it('redelivers the job of a worker killed mid-job; it finishes once, one image stored', async () => {
    const answer = generate('a worker killed mid-job', undefined, { steps: 50, width: 128, height: 128 });
    const victim = await busyWorker();
    victim.process.kill('SIGKILL');
    await victim.exited;
    const { images: data } = await answer;
    expect(data).toHaveLength(1);
    const image = await fetch(data[0].url.replace(/^https?:\/\/[^/]+/, stack.stack.edgeUrl));
    expect(image.status).toBe(200);
    // The message was delivered twice (the dead worker's lease ran out) and acked once.
    const message = fake.messages(INTERACTIVE).find((m) => m.attempts >= 2 && m.settled === 'acked');
    expect(message).toBeDefined();
    workers.splice(workers.indexOf(victim), 1, await startWorker('worker-c'));
    fake.assertNoViolations();
  });

  it('runs a duplicate delivery at most once to completion', async () => {
    const before = (await Promise.all(workers.map(finished))).reduce((a, b) => a + b, 0);
    const answer = generate('a duplicated message', undefined, { steps: 40, width: 128, height: 128 });
    await busyWorker();
    const body = queuedJobIds(INTERACTIVE).at(-1);
    // The same message a second time, as an at-least-once queue may hand it out.
    const pushed = await fetch(`${fake.apiBase}/accounts/${fake.accountId}/queues/${INTERACTIVE}/messages`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${fake.token}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ body, content_type: 'json' }),
    });
    expect(pushed.status).toBe(200);
    await answer;
    // The copy is skipped (claimed, retried later, then finished): acked without a second run.
    const copies = () =>
      fake
        .messages(INTERACTIVE)
        .filter((m) => Buffer.from(m.body, 'base64').toString().includes(body.job_id));
    while (copies().some((m) => m.settled !== 'acked')) await sleep(100);
    expect(copies()).toHaveLength(2);
    const after = (await Promise.all(workers.map(finished))).reduce((a, b) => a + b, 0);
    expect(after - before).toBe(1);
    fake.assertNoViolations();
  });

  it('cancels an asynchronous job mid-run: the worker stops it at the next progress answer', async () => {
    const cancelledBefore = (
      await Promise.all(
        workers.map((w) => metricValue(w.url, 'latent_edge_jobs_total', 'outcome="cancelled"')),
      )
    ).reduce((a, b) => a + b, 0);
    const created = await fetch(`${stack.stack.edgeUrl}/v1/images`, {
      method: 'POST',
      headers: {
        Authorization: `Bearer ${stack.info.apiKey}`,
        'Content-Type': 'application/json',
        Prefer: 'respond-async',
      },
      body: JSON.stringify({ prompt: 'a cancelled batch job', steps: 50, width: 256, height: 256 }),
    });
    expect(created.status).toBe(202);
    const job = (await created.json()) as { id: string; url: string };
    await busyWorker();
    const cancelled = await fetch(`${stack.stack.edgeUrl}/v1/jobs/${job.id}`, {
      method: 'DELETE',
      headers: { Authorization: `Bearer ${stack.info.apiKey}` },
    });
    expect(cancelled.status).toBe(200);
    const cancelledOnWorkers = async () =>
      (
        await Promise.all(
          workers.map((w) => metricValue(w.url, 'latent_edge_jobs_total', 'outcome="cancelled"')),
        )
      ).reduce((a, b) => a + b, 0);
    while ((await cancelledOnWorkers()) === cancelledBefore) await sleep(100);
    const record = (await (
      await fetch(`${stack.stack.edgeUrl}/v1/jobs/${job.id}`, {
        headers: { Authorization: `Bearer ${stack.info.apiKey}` },
      })
    ).json()) as { status: string };
    expect(record.status).toBe('cancelled');
    // It came over the batch tier, and its message was acked, not retried.
    const message = fake
      .messages(BATCH)
      .find((m) => Buffer.from(m.body, 'base64').toString().includes(job.id));
    while (message && fake.messages(BATCH).find((m) => m.id === message.id)?.settled !== 'acked')
      await sleep(100);
    expect(message).toBeDefined();
    fake.assertNoViolations();
  });

  it('drains on SIGTERM while pulling: the held job finishes and is acked, the worker exits 0', async () => {
    const answer = generate('a job held through SIGTERM', undefined, { steps: 50, width: 128, height: 128 });
    const draining = await busyWorker();
    draining.process.kill('SIGTERM');
    const { images } = await answer;
    expect(images).toHaveLength(1);
    expect(await draining.exited).toBe(0);
    workers.splice(workers.indexOf(draining), 1, await startWorker('worker-d'));
    fake.assertNoViolations();
  });

  it('keeps a flooding key to its share: a light key is served while the heavy one waits', async () => {
    const heavy = stack.info.apiKey;
    const light = stack.extraKeys[0];
    const order: string[] = [];
    const run = (key: string, name: string, i: number) =>
      generate(`fair share ${name} ${i}`, key, { steps: 30, width: 128, height: 128 }).then(() =>
        order.push(name),
      );
    const flood = Array.from({ length: 8 }, (_, i) => run(heavy, 'heavy', i));
    await sleep(300);
    // While the flood runs, the edge holds what is over the heavy key's cap (2).
    const during = parseExposition(await edgeMetrics());
    const lightRun = run(light, 'light', 0);
    await Promise.all([...flood, lightRun]);
    const waiting = during.find(
      (s) => s.name === 'latent_edge_dispatch_waiting' && s.labels.model === 'tiny-sd',
    );
    expect(waiting?.value).toBeGreaterThanOrEqual(1);
    const inQueues = during
      .filter((s) => s.labels.model === 'tiny-sd' && s.name !== 'latent_edge_dispatch_waiting')
      .reduce((sum, s) => sum + s.value, 0);
    expect(inQueues).toBeLessThanOrEqual(2);
    // The light key's one job did not wait behind the heavy key's backlog of six.
    expect(order.indexOf('light')).toBeLessThan(order.length - 3);
  });

  it("evaluates the KEDA scaling query with promtool on both services' real metrics", async () => {
    const refused = await fetch(`${stack.stack.edgeUrl}/metrics`, {
      headers: { Authorization: 'Bearer wrong' },
    });
    expect(refused.status).toBe(401);
    const trigger = findManifest(readManifests(), 'ScaledObject', 'gpu-worker-sd15').spec.triggers[0];
    const query = String(trigger.metadata.query).replaceAll('sd15', 'tiny-sd');
    const flood = Array.from({ length: 6 }, (_, i) =>
      generate(`scaling query ${i}`, i % 2 ? stack.extraKeys[0] : undefined, {
        steps: 40,
        width: 128,
        height: 128,
      }),
    );
    await sleep(300);
    const [edgeText, ...workerTexts] = await Promise.all([
      edgeMetrics(),
      ...workers.map(async (w) => (await fetch(`${w.url}/metrics`)).text()),
    ]);
    await Promise.all(flood);
    const edge = parseExposition(edgeText).filter(
      (s) => s.labels.model === 'tiny-sd' && s.name !== 'latent_edge_dispatch_waiting',
    );
    const work = edge.reduce((sum, s) => sum + s.value, 0);
    expect(work).toBeGreaterThan(0);
    // Each worker reports MAX_BATCH (2) slots, free + busy: the query asks work / 2 workers.
    const series = [
      ...toInputSeries(Array(5).fill(edgeText), { job: 'latent-edge-edge', instance: 'edge' }),
      ...workerTexts.flatMap((text, i) =>
        toInputSeries(Array(5).fill(text), { job: 'latent-edge-gpu-worker', instance: `w${i}:8788` }),
      ),
    ];
    const file = writeYamlFile(scratchDir(), 'scale-out.test.yml', {
      evaluation_interval: '1m',
      tests: [
        {
          interval: '1m',
          input_series: series,
          promql_expr_test: [
            { expr: query, eval_time: '4m', exp_samples: [{ labels: '{}', value: work / 2 }] },
          ],
        },
      ],
    });
    const run = promtool(['test', 'rules', file]);
    expect(run.status, run.output).toBe(0);
  });
});
