// A served SDXL-family model (wrangler.toml's tiny-sdxl, the committed fixture's tokenizers) through
// the edge: its family and buckets in /v1/models, both tokenizers' chunks in the job (the fake
// gpu-worker refuses chunks_2 padded by the first tokenizer), token counts per encoder, the
// embedding cache round trip with the pooled values, a size outside the buckets refused with the
// allowed ones named, and OpenAI / A1111 sizes landing on the nearest bucket.
import { SELF } from 'cloudflare:test';
import OpenAI from 'openai';
import { beforeAll, describe, expect, it } from 'vitest';
import { ModelList, TokenizeResponse } from '../src/openapi/response-schemas.ts';
import {
  call,
  createApiKey,
  type ErrorBody,
  gpuCalls,
  ORIGIN,
  postJson,
  uniquePrompt,
} from './support/api.ts';

const BUCKETS = ['64x64', '96x64', '64x96', '128x64', '64x128'];

let key: string;
beforeAll(async () => {
  key = (await createApiKey({ rateLimit: { requests: 1000, window_seconds: 60 } })).key;
});

interface ImagesBody {
  images: { width: number; height: number; seed: number }[];
  tokens: Record<'prompt' | 'negative_prompt', { count: number; count_2?: number; chunks: number }>;
}

async function generate(body: Record<string, unknown>) {
  const response = await postJson('/v1/images', { model: 'tiny-sdxl', ...body }, key);
  return { status: response.status, body: (await response.json()) as ImagesBody & ErrorBody };
}

describe('an SDXL-family model', () => {
  it('is listed with its family, buckets and two text encoders', async () => {
    const body = ModelList.parse(await (await call('/v1/models', { key })).json());
    expect(body.data.find((m) => m.id === 'tiny-sdxl')).toMatchObject({
      family: 'sdxl',
      sizes: BUCKETS,
      text_encoders: 2,
      defaults: { width: 64, height: 64, guidance_scale: 5, scheduler: 'euler' },
    });
  });

  it('tokenizes with both tokenizers: the same words, the second padded with its own pad id', async () => {
    const response = await postJson(
      '/v1/tokenize',
      { model: 'tiny-sdxl', prompt: 'a (red:1.5) circle' },
      key,
    );
    expect(response.status).toBe(200);
    const body = TokenizeResponse.parse(await response.json());
    expect(body.token_count_2).toBe(body.token_count);
    const [first, second] = [body.chunks[0], body.chunks_2?.[0]];
    expect(second?.tokens).toEqual(first.tokens);
    expect(second?.ids.at(-1)).not.toBe(first.ids.at(-1));
  });

  it('sends both encoders’ chunks, with the default size, and reports both token counts', async () => {
    const prompt = uniquePrompt('a green triangle');
    const { status, body } = await generate({ prompt, seed: 3 });
    expect(status).toBe(200);
    expect(body.images[0]).toMatchObject({ width: 64, height: 64 });
    expect(body.tokens.prompt.count_2).toBe(body.tokens.prompt.count);
    const [job] = await gpuCalls(prompt);
    expect(job).toMatchObject({ status: 200, width: 64, height: 64, guidance_scale: 5, scheduler: 'euler' });
    expect(job.prompt_chunks_2).toHaveLength(1);
    expect(job.prompt_chunks_2?.[0]).toHaveLength(77);
  });

  it('caches the text embeddings with the pooled values and sends them back whole', async () => {
    const prompt = uniquePrompt('a purple star');
    expect((await generate({ prompt, seed: 1 })).status).toBe(200);
    // Another seed misses the image cache but hits the embedding cache; the fake refuses an
    // embedding part whose size is not hidden states plus the 5 pooled values.
    expect((await generate({ prompt, seed: 2 })).status).toBe(200);
    const jobs = await gpuCalls(prompt);
    expect(jobs.map((j) => [j.status, j.prompt_embedding])).toEqual([
      [200, false],
      [200, true],
    ]);
  });

  it('refuses a size outside its buckets, naming them, and sends nothing to a gpu-worker', async () => {
    const prompt = uniquePrompt('an orange moon');
    const { status, body } = await generate({ prompt, width: 96, height: 96 });
    expect(status).toBe(400);
    expect(body.error.field).toBe('width');
    expect(body.error.message).toContain('96x96');
    for (const bucket of BUCKETS) expect(body.error.message).toContain(bucket);
    expect(await gpuCalls(prompt)).toHaveLength(0);
  });

  it('makes every bucket', async () => {
    const prompt = uniquePrompt('a grey cloud');
    for (const bucket of BUCKETS) {
      const [width, height] = bucket.split('x').map(Number);
      const { status, body } = await generate({ prompt, width, height, seed: 7 });
      expect(status).toBe(200);
      expect(body.images[0]).toMatchObject({ width, height });
    }
  });

  it('puts an OpenAI size on the bucket nearest in shape', async () => {
    const client = new OpenAI({
      apiKey: key,
      baseURL: `${ORIGIN}/v1`,
      fetch: (input, init) => SELF.fetch(input as string, init as RequestInit),
      maxRetries: 0,
    });
    const prompt = uniquePrompt('a wide beach');
    // 1792x1024 is 1.75:1, nearer 2:1 (128x64) than 3:2 (96x64); 1024x1536 is 2:3 (64x96).
    await client.images.generate({ model: 'tiny-sdxl', prompt, size: '1792x1024' });
    await client.images.generate({ model: 'tiny-sdxl', prompt, size: '1024x1536' });
    await client.images.generate({ model: 'tiny-sdxl', prompt, size: '1024x1024' });
    const jobs = await gpuCalls(prompt);
    expect(jobs.map((j) => `${j.width}x${j.height}`)).toEqual(['128x64', '64x96', '64x64']);
  });

  it('puts an A1111 client’s size (512x512 by default in its UI) on the nearest bucket', async () => {
    const prompt = uniquePrompt('a tall tower');
    const models = (await (await call('/sdapi/v1/sd-models', { key })).json()) as {
      title: string;
      model_name: string;
    }[];
    const checkpoint = models.find((m) => m.model_name === 'tiny-sdxl')?.title;
    for (const [width, height] of [
      [512, 512],
      [512, 1024],
    ]) {
      const response = await postJson(
        '/sdapi/v1/txt2img',
        { prompt, width, height, seed: 4, override_settings: { sd_model_checkpoint: checkpoint } },
        key,
      );
      expect(response.status).toBe(200);
    }
    const jobs = await gpuCalls(prompt);
    expect(jobs.map((j) => `${j.width}x${j.height}`)).toEqual(['64x64', '64x128']);
  });
});

describe('a few-step model (wrangler.toml’s tiny-sdxl-turbo)', () => {
  it('is listed with its own defaults and limits', async () => {
    const body = ModelList.parse(await (await call('/v1/models', { key })).json());
    expect(body.data.find((m) => m.id === 'tiny-sdxl-turbo')).toMatchObject({
      family: 'sdxl',
      sizes: ['64x64'],
      defaults: { steps: 1, guidance_scale: 0, scheduler: 'euler' },
      limits: { max_steps: 4 },
    });
  });

  it('gives a request with no parameters one step, no guidance and Euler, on every route', async () => {
    const prompt = uniquePrompt('a red fox');
    expect((await postJson('/v1/images', { model: 'tiny-sdxl-turbo', prompt }, key)).status).toBe(200);
    const client = new OpenAI({
      apiKey: key,
      baseURL: `${ORIGIN}/v1`,
      fetch: (input, init) => SELF.fetch(input as string, init as RequestInit),
      maxRetries: 0,
    });
    await client.images.generate({ model: 'tiny-sdxl-turbo', prompt: `${prompt} openai` });
    const jobs = [...(await gpuCalls(prompt)), ...(await gpuCalls(`${prompt} openai`))];
    expect(jobs).toHaveLength(2);
    for (const job of jobs) {
      expect(job).toMatchObject({ status: 200, steps: 1, guidance_scale: 0, scheduler: 'euler' });
    }
  });

  it('refuses more steps than the model allows, naming its maximum', async () => {
    const prompt = uniquePrompt('a blue jay');
    const response = await postJson('/v1/images', { model: 'tiny-sdxl-turbo', prompt, steps: 20 }, key);
    expect(response.status).toBe(400);
    const body = (await response.json()) as ErrorBody;
    expect(body.error.field).toBe('steps');
    expect(body.error.message).toContain('4');
    expect(await gpuCalls(prompt)).toHaveLength(0);
  });
});
