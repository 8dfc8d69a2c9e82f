// The real gpu-worker process in pull mode (PULL_QUEUES set), as an operator runs it: it pulls
// from the fake Cloudflare Queues API, claims from a signed edge stand-in, exports the scale-out
// metrics, and on SIGTERM stops pulling, finishes the job it holds, acknowledges it and exits 0.
import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { FakeQueues } from '../../test/support/fake-queues.ts';
import {
  metricValue,
  type RunningWorker,
  startGpuWorker,
  TEST_GPU_SECRET,
} from '../../test/support/gpu-worker-process.ts';
import { EdgeDispatchStandIn, type StandInJob } from './support/edge-dispatch-stand-in.ts';
import { job } from './support/jobs.ts';

const QUEUE = 'tiny-sd-interactive';

describe('gpu-worker process in pull mode', () => {
  let fake: FakeQueues | undefined;
  let edge: EdgeDispatchStandIn | undefined;
  let worker: RunningWorker | undefined;
  afterEach(async () => {
    await worker?.stop();
    await fake?.close();
    await edge?.close();
  });

  it('pulls, reports busy slots, and on SIGTERM finishes and acknowledges the job it holds, then exits 0', async () => {
    fake = new FakeQueues({ queues: [{ name: QUEUE }] });
    const apiUrl = await fake.start();
    edge = new EdgeDispatchStandIn(TEST_GPU_SECRET);
    const edgeUrl = await edge.start();
    worker = await startGpuWorker({
      MAX_BATCH: '1',
      PULL_QUEUES: `tiny-sd:interactive=${fake.queueId(QUEUE)}`,
      EDGE_URL: edgeUrl,
      QUEUES_API_URL: apiUrl,
      QUEUES_ACCOUNT_ID: fake.accountId,
      QUEUES_API_TOKEN: fake.token,
      WORKER_NAME: 'proc-worker',
    });
    const jobs: StandInJob[] = [];
    const readyz = (await (await fetch(`${worker.url}/readyz`)).json()) as { models: { revision: string }[] };
    for (let i = 0; i < 2; i++) {
      const body = job({ job_id: randomUUID(), steps: 150, width: 128, height: 128 });
      jobs.push(edge.add(body));
      const message = {
        job_id: body.job_id,
        model: 'tiny-sd',
        revision: readyz.models[0].revision,
        tier: 'interactive',
        deadline: Date.now() + 600_000,
      };
      await fetch(`${apiUrl}/accounts/${fake.accountId}/queues/${QUEUE}/messages`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${fake.token}`, 'Content-Type': 'application/json' },
        body: JSON.stringify({ body: message, content_type: 'json' }),
      });
    }
    while (jobs[0].claims.length === 0) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(jobs[0].claims[0].worker).toBe('proc-worker');
    expect(await metricValue(worker.url, 'latent_edge_worker_slots', 'state="busy"')).toBe(1);
    expect(await metricValue(worker.url, 'latent_edge_worker_slots', 'state="free"')).toBe(0);
    expect(await metricValue(worker.url, 'latent_edge_worker_draining')).toBe(0);
    expect(await metricValue(worker.url, 'latent_edge_worker_pulls_total', 'result="messages"')).toBe(1);

    worker.process.kill('SIGTERM');
    expect(await worker.exited).toBe(0);
    expect(jobs[0].results).toHaveLength(1);
    expect(jobs[1].claims).toHaveLength(0);
    expect(fake.stats(QUEUE)).toMatchObject({ delivered: 1, acked: 1, available: 1 });
    // The default visibility timeout outlasts JOB_TIMEOUT_MS (300 s) by a minute.
    const pull = fake.requests.find((r) => r.route === 'pull')?.body;
    expect(pull).toEqual({ batch_size: 1, visibility_timeout_ms: 360_000 });
    expect(worker.logs()).toContain('drained; exiting');
    fake.assertNoViolations();
    edge.assertNoViolations();
  });
});
