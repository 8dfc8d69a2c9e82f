// An SDXL-layout model served by the real gpu-worker process: jobs carry ids for both text
// encoders (chunks_2), the result's embedding parts carry the pooled values, and a job missing
// the second encoder's ids is a 400 naming the field.
import { join } from 'node:path';
import { loadTokenizerDir } from '@latent-edge/shared/node/tokenizer-dir';
import { tokenizeWeighted } from '@latent-edge/shared/prompt/prompt-chunks';
import { float32Bytes } from '@latent-edge/shared/protocol/envelope';
import { readGpuResponse, signedJobRequest } from '@latent-edge/shared/protocol/gpu-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type RunningWorker,
  startGpuWorker,
  TEST_GPU_SECRET,
} from '../../test/support/gpu-worker-process.ts';
import { send } from './support/jobs.ts';
import { FIXTURES } from './support/models.ts';

const SDXL = join(FIXTURES, 'sdxl');
const tokenizers = ['tokenizer', 'tokenizer_2'].map((t) => loadTokenizerDir(join(SDXL, t)));
const prompt = (text: string) => ({
  chunks: tokenizeWeighted(tokenizers[0], text).chunks,
  chunks_2: tokenizeWeighted(tokenizers[1], text).chunks,
});
let counter = 0;
const job = (overrides: Record<string, unknown> = {}) => ({
  job_id: `sdxl-${process.pid}-${++counter}`,
  model: 'sdxl',
  prompt: prompt('a red circle'),
  negative_prompt: prompt('blue'),
  width: 64,
  height: 96,
  steps: 3,
  guidance_scale: 5,
  scheduler: 'euler',
  seeds: [1],
  ...overrides,
});

describe('gpu-worker serving an SDXL-layout model', () => {
  let worker: RunningWorker;
  beforeAll(async () => {
    worker = await startGpuWorker({ MODELS: `sdxl=${SDXL}` });
  });
  afterAll(() => worker?.stop());

  it('makes the image and returns embeddings with the pooled values after the hidden states', async () => {
    const first = await readGpuResponse(await send(worker.url, job()));
    expect(first.images[0]).toMatchObject({ width: 64, height: 96 });
    const part = first.result.embeddings?.prompt;
    expect(part?.pooled).toBeGreaterThan(0);
    const [rows, hidden] = part?.shape ?? [0, 0];
    expect(rows).toBe(77);
    expect(first.promptEmbedding?.length).toBe(rows * hidden + (part?.pooled ?? 0));

    // The same job from those embeddings: no text encoder run, the same bytes.
    const body = job();
    const request = await signedJobRequest(
      `${worker.url}/v1/generate`,
      TEST_GPU_SECRET,
      {
        ...body,
        prompt: { ...body.prompt, embedding: 'p' },
        negative_prompt: { ...body.negative_prompt, embedding: 'n' },
      },
      {
        p: float32Bytes(first.promptEmbedding as Float32Array),
        n: float32Bytes(first.negativeEmbedding as Float32Array),
      },
    );
    const second = await readGpuResponse(await fetch(request));
    expect(second.result.embeddings_cached).toBe(true);
    expect(Buffer.from(second.images[0].bytes).equals(Buffer.from(first.images[0].bytes))).toBe(true);
  });

  it('answers 400 naming chunks_2 when a job gives ids for one encoder only', async () => {
    const { chunks } = prompt('a red circle');
    const response = await send(worker.url, job({ prompt: { chunks } }));
    expect(response.status).toBe(400);
    const { error } = (await response.json()) as { error: { field?: string; message: string } };
    expect(error.field).toBe('prompt.chunks_2');
    expect(error.message).toMatch(/two text encoders/);
  });

  it('answers 400 when an embedding lacks its pooled values', async () => {
    // A prompt this worker has not encoded yet, so it returns fresh embeddings.
    const fresh = { prompt: prompt('a green star'), seeds: [2] };
    const first = await readGpuResponse(await send(worker.url, job(fresh)));
    const [rows, hidden] = first.result.embeddings?.prompt.shape ?? [0, 0];
    const hiddenOnly = (first.promptEmbedding as Float32Array).subarray(0, rows * hidden);
    const body = job(fresh);
    const request = await signedJobRequest(
      `${worker.url}/v1/generate`,
      TEST_GPU_SECRET,
      { ...body, prompt: { ...(body.prompt as object), embedding: 'p' } },
      { p: float32Bytes(hiddenOnly) },
    );
    const response = await fetch(request);
    expect(response.status).toBe(400);
    expect(((await response.json()) as { error: { message: string } }).error.message).toMatch(/pooled/);
  });
});
