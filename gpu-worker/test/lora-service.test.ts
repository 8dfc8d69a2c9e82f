// LoRAs through the real gpu-worker process: a model folder with `loras/`, signed jobs naming
// them, the merged set built once and cached, and jobs of different sets never sharing a UNet call
// (each image equals its solo run) while jobs of the same set still do.
import { readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { metricValue, type RunningWorker, startGpuWorker } from '../../test/support/gpu-worker-process.ts';
import { generateOk, job, send } from './support/jobs.ts';
import { LORA_FIXTURES, modelWithLoras } from './support/lora-folder.ts';
import { safetensorsBytes } from './support/safetensors-file.ts';

const randomLora = readFileSync(join(LORA_FIXTURES, 'random-kohya.safetensors'));
const same = (a: Uint8Array, b: Uint8Array) => Buffer.from(a).equals(Buffer.from(b));

describe('gpu-worker with LoRAs', () => {
  let worker: RunningWorker;
  let dir: string;
  beforeAll(async () => {
    dir = modelWithLoras({ 'random.safetensors': randomLora });
    worker = await startGpuWorker({ MODELS: `tiny-sd=${dir}`, MAX_BATCH: '8' });
  });
  afterAll(async () => {
    await worker?.stop();
    if (dir) rmSync(dirname(dir), { recursive: true, force: true });
  });

  it('lists the LoRAs it loaded at start', () => {
    expect(worker.logs()).toContain('model tiny-sd: LoRAs random');
  });

  it('draws with the LoRA merged, the same way every time; weight 0 is the base image', async () => {
    const base = await generateOk(worker.url, job({ seeds: [5] }));
    const withLora = await generateOk(
      worker.url,
      job({ seeds: [5], loras: [{ name: 'random', weight: 0.7 }] }),
    );
    const again = await generateOk(worker.url, job({ seeds: [5], loras: [{ name: 'random', weight: 0.7 }] }));
    const zero = await generateOk(worker.url, job({ seeds: [5], loras: [{ name: 'random', weight: 0 }] }));
    expect(same(withLora.images[0].bytes, base.images[0].bytes)).toBe(false);
    expect(same(again.images[0].bytes, withLora.images[0].bytes)).toBe(true);
    expect(same(zero.images[0].bytes, base.images[0].bytes)).toBe(true);
    // The LoRA changes the text encoder, so its embeddings are not the base model's.
    expect(withLora.promptEmbedding).not.toEqual(base.promptEmbedding);
  });

  it('refuses an unknown LoRA (400, naming it) and a hash other than its file (409)', async () => {
    const unknown = await send(worker.url, job({ loras: [{ name: 'nope', weight: 1 }] }));
    expect(unknown.status).toBe(400);
    expect(await unknown.json()).toEqual({
      error: {
        code: 'unknown_lora',
        message: 'model "tiny-sd" has no LoRA "nope" (it has random)',
        field: 'loras[0].name',
      },
    });
    const stale = await send(
      worker.url,
      job({ loras: [{ name: 'random', sha256: 'a'.repeat(64), weight: 1 }] }),
    );
    expect(stale.status).toBe(409);
    expect(((await stale.json()) as { error: { code: string } }).error.code).toBe('lora_mismatch');
    const heavy = await send(worker.url, job({ loras: [{ name: 'random', weight: 9 }] }));
    expect(heavy.status).toBe(400);
  });

  it('never puts jobs of different LoRA sets in one UNet call; jobs of one set still share', async () => {
    const lora = [{ name: 'random', weight: 0.7 }];
    const jobs = [job({ seeds: [21], loras: lora }), job({ seeds: [22], loras: lora }), job({ seeds: [23] })];
    await generateOk(worker.url, job({ seeds: [1], steps: 1, loras: lora })); // the set is built and cached
    const callsBefore = await metricValue(worker.url, 'latent_edge_batch_size_count');
    const together = await Promise.all(jobs.map((j) => generateOk(worker.url, j)));
    const calls = (await metricValue(worker.url, 'latent_edge_batch_size_count')) - callsBefore;
    // 8 steps each: sharing across sets could go down to 8 calls; the base job alone needs 8 of its own.
    expect(calls).toBeGreaterThanOrEqual(16);
    expect(calls).toBeLessThan(24);
    for (const [i, j] of jobs.entries()) {
      const solo = await generateOk(worker.url, { ...j, job_id: `${j.job_id}-solo` });
      expect(same(solo.images[0].bytes, together[i].images[0].bytes)).toBe(true);
    }
  });
});

describe('gpu-worker start with a bad LoRA', () => {
  it('exits 78 naming the file', async () => {
    const bad = safetensorsBytes({
      'model.diffusion_model.input_blocks.0.0.weight': { shape: [2], values: [1, 2] },
    });
    const dir = modelWithLoras({ 'checkpoint.safetensors': bad });
    try {
      const error = await startGpuWorker({ MODELS: `tiny-sd=${dir}` }).catch((e: Error) => e);
      expect((error as Error).message).toContain('exited with 78');
      expect((error as Error).message).toContain(join(dir, 'loras', 'checkpoint.safetensors'));
    } finally {
      rmSync(dirname(dir), { recursive: true, force: true });
    }
  });
});
