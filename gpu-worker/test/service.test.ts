// The gpu-worker service as the edge meets it: the real process on a loopback port, real HTTP,
// signed jobs, the bundled model on CPU.

import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jobActionMessage, signRequest } from '@latent-edge/shared/crypto/request-signing';
import { ENVELOPE_CONTENT_TYPE, encodeEnvelope } from '@latent-edge/shared/protocol/envelope';
import { readGpuResponse } from '@latent-edge/shared/protocol/gpu-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  metricValue,
  type RunningWorker,
  startGpuWorker,
  TEST_GPU_SECRET,
} from '../../test/support/gpu-worker-process.ts';
import { generateOk, job, send } from './support/jobs.ts';
import { FIXTURES } from './support/models.ts';

const same = (a: Uint8Array, b: Uint8Array) => Buffer.from(a).equals(Buffer.from(b));

describe('gpu-worker HTTP API', () => {
  let worker: RunningWorker;
  beforeAll(async () => {
    worker = await startGpuWorker({ MAX_BATCH: '8', MAX_BODY_BYTES: '65536' });
  });
  afterAll(() => worker?.stop());

  it('answers a signed job with PNGs, seeds, timings and fresh embeddings', async () => {
    const { result, images, promptEmbedding } = await generateOk(worker.url, job({ seeds: [3, 4] }));
    expect(images.map((i) => i.seed)).toEqual([3, 4]);
    expect([...images[0].bytes.subarray(1, 4)]).toEqual([0x50, 0x4e, 0x47]);
    expect(result.embeddings_cached).toBe(false);
    expect(result.timings_ms.denoise).toBeGreaterThan(0);
    const [rows, hidden] = result.embeddings?.prompt.shape ?? [0, 0];
    expect(rows).toBe(77);
    expect(promptEmbedding?.length).toBe(rows * hidden);
  });

  it('uses embeddings the edge sends instead of running the text encoder', async () => {
    const first = await generateOk(worker.url, job({ prompt: 'a green star', seeds: [9] }));
    const { float32Bytes } = await import('@latent-edge/shared/protocol/envelope');
    const body = job({ prompt: 'a green star', seeds: [9] });
    body.prompt = { ...body.prompt, embedding: 'p' } as typeof body.prompt;
    body.negative_prompt = { ...body.negative_prompt, embedding: 'n' } as typeof body.negative_prompt;
    const { signedJobRequest } = await import('@latent-edge/shared/protocol/gpu-client');
    const request = await signedJobRequest(`${worker.url}/v1/generate`, TEST_GPU_SECRET, body, {
      p: float32Bytes(first.promptEmbedding as Float32Array),
      n: float32Bytes(first.negativeEmbedding as Float32Array),
    });
    const second = await readGpuResponse(await fetch(request));
    expect(second.result.embeddings_cached).toBe(true);
    expect(same(second.images[0].bytes, first.images[0].bytes)).toBe(true);
  });

  it('rejects unsigned, tampered, replayed and stale requests with 401', async () => {
    const body = encodeEnvelope(job());
    const post = (headers: Record<string, string>, bytes: Uint8Array = body) =>
      fetch(`${worker.url}/v1/generate`, {
        method: 'POST',
        body: bytes as Uint8Array<ArrayBuffer>,
        headers: { 'Content-Type': ENVELOPE_CONTENT_TYPE, ...headers },
      });
    const unsigned = await post({});
    expect(unsigned.status).toBe(401);
    expect(await unsigned.json()).toEqual({
      error: { code: 'unauthorized', message: 'request signature rejected: missing' },
    });

    const headers = { ...(await signRequest(TEST_GPU_SECRET, body)) };
    const tampered = new Uint8Array(body);
    tampered[tampered.length - 2] ^= 1;
    expect((await post(headers, tampered)).status).toBe(401);
    expect(
      (await post({ ...(await signRequest('wrong-secret-wrong-secret-wrong-secret', body)) })).status,
    ).toBe(401);

    expect((await post(headers)).status).toBe(200);
    const replay = await post(headers);
    expect(replay.status).toBe(401);
    expect(((await replay.json()) as { error: { message: string } }).error.message).toContain('replayed');

    const stale = await post({ ...(await signRequest(TEST_GPU_SECRET, body, Date.now() - 3_600_000)) });
    expect(((await stale.json()) as { error: { message: string } }).error.message).toContain('stale');
  });

  it('names bad jobs: invalid fields, unknown model, sizes the model cannot take', async () => {
    const answer = async (body: object) => {
      const response = await send(worker.url, body);
      return {
        status: response.status,
        body: (await response.json()) as { error: { code: string; message: string; field?: string } },
      };
    };
    const steps = await answer(job({ steps: 0 }));
    expect(steps.status).toBe(400);
    expect(steps.body.error).toMatchObject({ code: 'invalid_request', field: 'steps' });
    const model = await answer(job({ model: 'sd-xl' }));
    expect(model.status).toBe(404);
    expect(model.body.error.message).toContain('model "sd-xl" is not served here');
    const size = await answer(job({ width: 72 }));
    expect(size.status).toBe(400);
    expect(size.body.error.message).toContain('72 is not a multiple of 32');
    const revision = await answer(job({ revision: 'stale-revision' }));
    expect(revision.status).toBe(409);
  });

  it('answers 413 for an oversized body and JSON 404 for an unknown route', async () => {
    const big = await send(
      worker.url,
      job({ prompt_text: 'x'.repeat(3000), negative_prompt_text: 'y'.repeat(3000) }),
      {},
    );
    expect(big.status).toBe(200);
    const huge = await fetch(`${worker.url}/v1/generate`, { method: 'POST', body: new Uint8Array(100_000) });
    expect(huge.status).toBe(413);
    expect(((await huge.json()) as { error: { code: string } }).error.code).toBe('too_large');
    const missing = await fetch(`${worker.url}/v2/nothing`);
    expect(missing.status).toBe(404);
    expect(((await missing.json()) as { error: { code: string } }).error.code).toBe('not_found');
  });

  it('batches concurrent jobs into shared UNet calls, and each image equals its solo run', async () => {
    const jobs = [
      job({ seeds: [11], scheduler: 'euler_ancestral', steps: 12 }),
      job({ seeds: [12], scheduler: 'dpmpp_2m_karras', steps: 9, guidance_scale: 4 }),
      job({ seeds: [13, 14], scheduler: 'ddim', steps: 10, prompt: 'a blue square' }),
    ];
    const callsBefore = await metricValue(worker.url, 'latent_edge_batch_size_count');
    const imagesBefore = await metricValue(worker.url, 'latent_edge_batch_size_sum');
    const together = await Promise.all(jobs.map((j) => generateOk(worker.url, j)));
    const calls = (await metricValue(worker.url, 'latent_edge_batch_size_count')) - callsBefore;
    const images = (await metricValue(worker.url, 'latent_edge_batch_size_sum')) - imagesBefore;
    // 12 + 9 + 10 = 31 steps run solo; shared calls mean fewer calls than steps, more than 1 image per call.
    expect(images).toBe(12 + 9 + 2 * 10);
    expect(calls).toBeLessThan(12 + 9 + 10);
    for (const [i, j] of jobs.entries()) {
      const solo = await generateOk(worker.url, { ...j, job_id: `${j.job_id}-solo` });
      for (const [k, image] of solo.images.entries())
        expect(same(image.bytes, together[i].images[k].bytes)).toBe(true);
    }
  });

  it('cancels a running job on DELETE and frees its slot', async () => {
    const long = job({ steps: 150 });
    const pending = send(worker.url, long);
    await waitFor(async () => (await metricValue(worker.url, 'latent_edge_running_jobs')) === 1);
    const cancelOf = async (id: string) =>
      fetch(`${worker.url}/v1/jobs/${long.job_id}`, {
        method: 'DELETE',
        headers: { ...(await signRequest(TEST_GPU_SECRET, jobActionMessage('cancel', id))) },
      });
    // A cancel signed for another job does not cancel this one.
    expect((await cancelOf('some-other-job')).status).toBe(401);
    const cancel = await cancelOf(long.job_id);
    expect(cancel.status).toBe(200);
    const response = await pending;
    expect(response.status).toBe(409);
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe('cancelled');
    expect(await metricValue(worker.url, 'latent_edge_running_jobs')).toBe(0);
    expect((await generateOk(worker.url, job())).images).toHaveLength(1);
  });

  it('interrupts a running job on POST /v1/jobs/:id/interrupt: it answers at once with where it got to', async () => {
    const long = job({ steps: 150 });
    const pending = send(worker.url, long);
    await waitFor(async () => (await metricValue(worker.url, 'latent_edge_running_jobs')) === 1);
    const interrupt = async (id: string, action: 'interrupt' | 'cancel' = 'interrupt') =>
      fetch(`${worker.url}/v1/jobs/${id}/interrupt`, {
        method: 'POST',
        headers: { ...(await signRequest(TEST_GPU_SECRET, jobActionMessage(action, id))) },
      });
    // A cancel's signature is not an interrupt's.
    expect((await interrupt(long.job_id, 'cancel')).status).toBe(401);
    expect((await interrupt('no-such-job')).status).toBe(404);
    const answer = await interrupt(long.job_id);
    expect(answer.status).toBe(200);
    expect(await answer.json()).toMatchObject({ id: long.job_id, state: 'interrupted' });
    const { result, images } = await readGpuResponse(await pending);
    const step = result.interrupted_at_step;
    expect(step).toBeDefined();
    expect(step).toBeLessThan(150);
    expect(images).toHaveLength(1);
    expect([...images[0].bytes.subarray(1, 4)]).toEqual([0x50, 0x4e, 0x47]);
    // A job that ran to its end says nothing of interrupts.
    expect((await generateOk(worker.url, job())).result.interrupted_at_step).toBeUndefined();
  });

  it('cancels the job of a client that disconnects', async () => {
    const before = await metricValue(worker.url, 'latent_edge_jobs_total', 'outcome="cancelled"');
    const controller = new AbortController();
    const pending = send(worker.url, job({ steps: 150 }), { signal: controller.signal }).catch(
      (e: Error) => e,
    );
    await waitFor(async () => (await metricValue(worker.url, 'latent_edge_running_jobs')) === 1);
    controller.abort();
    expect(await pending).toBeInstanceOf(Error);
    await waitFor(
      async () =>
        (await metricValue(worker.url, 'latent_edge_jobs_total', 'outcome="cancelled"')) === before + 1,
    );
    expect(await metricValue(worker.url, 'latent_edge_running_jobs')).toBe(0);
  });
});

describe('gpu-worker under load and at shutdown', () => {
  it('answers 503 with Retry-After when the queue is full, and loses no accepted job', async () => {
    const worker = await startGpuWorker({ MAX_BATCH: '1', QUEUE_SIZE: '1' });
    try {
      const responses = await Promise.all(
        Array.from({ length: 6 }, (_, i) => send(worker.url, job({ steps: 25, seeds: [i] }))),
      );
      const statuses = responses.map((r) => r.status);
      expect(statuses.filter((s) => s === 503).length).toBeGreaterThan(0);
      expect(statuses.every((s) => s === 200 || s === 503)).toBe(true);
      for (const response of responses) {
        if (response.status === 503) {
          expect(Number(response.headers.get('Retry-After'))).toBeGreaterThanOrEqual(1);
          expect(((await response.json()) as { error: { code: string } }).error.code).toBe('queue_full');
        } else {
          expect((await readGpuResponse(response)).images).toHaveLength(1);
        }
      }
      const accepted = statuses.filter((s) => s === 200).length;
      expect(await metricValue(worker.url, 'latent_edge_jobs_total', 'outcome="done"')).toBe(accepted);
    } finally {
      await worker.stop();
    }
  });

  it('drains on SIGTERM: the running job finishes, new jobs are refused, the process exits 0', async () => {
    const worker = await startGpuWorker();
    try {
      const running = send(worker.url, job({ steps: 60 }));
      await waitFor(async () => (await metricValue(worker.url, 'latent_edge_running_jobs')) === 1);
      worker.process.kill('SIGTERM');
      await waitFor(async () => (await fetch(`${worker.url}/readyz`)).status === 503);
      const refused = await send(worker.url, job());
      expect(refused.status).toBe(503);
      expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('draining');
      const response = await running;
      expect(response.status).toBe(200);
      expect((await readGpuResponse(response)).images).toHaveLength(1);
      expect(await worker.exited).toBe(0);
    } finally {
      await worker.stop();
    }
  });

  it('refuses to start on bad configuration, naming each bad variable', async () => {
    const error = await startGpuWorker({
      MAX_BATCH: 'lots',
      GPU_SHARED_SECRET: 'short',
      PROVIDERS: 'tpu',
    }).catch((e: Error) => e);
    expect(error).toBeInstanceOf(Error);
    const message = (error as Error).message;
    expect(message).toContain('exited with 78');
    expect(message).toContain('MAX_BATCH=lots: must be an integer from 1 to 64');
    expect(message).toContain('GPU_SHARED_SECRET must be at least 32 characters');
    expect(message).toContain('PROVIDERS: unknown tpu; use cuda, webgpu, cpu');
  });

  it('refuses to start on a model folder that cannot load (exit 78), naming the graph', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'broken-model-'));
    try {
      cpSync(join(FIXTURES, 'external-data'), dir, { recursive: true });
      rmSync(join(dir, 'unet/model.onnx_data'));
      const error = await startGpuWorker({ MODELS: `broken=${dir}` }).catch((e: Error) => e);
      expect(error).toBeInstanceOf(Error);
      expect((error as Error).message).toContain('exited with 78');
      expect((error as Error).message).toContain(`cannot open ${dir}/unet/model.onnx`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

async function waitFor(check: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const started = Date.now();
  while (!(await check())) {
    if (Date.now() - started > timeoutMs) throw new Error('condition not reached in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}
