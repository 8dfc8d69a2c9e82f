// POST /v1/images against the fake gpu-worker: the result cache, seeds, token reports, defaults,
// what is stored in R2, and the embedding cache.
import { env } from 'cloudflare:test';
import { beforeAll, describe, expect, it } from 'vitest';
import { createApiKey, gpuCalls, pngHeaderBase64, postJson, uniquePrompt } from './support/api.ts';

interface ImagesBody {
  id: string;
  model: string;
  revision: string;
  images: { url: string; share_url: string; seed: number; width: number; height: number; cached: boolean }[];
  seeds: number[];
  tokens: Record<
    'prompt' | 'negative_prompt',
    { count: number; limit: number; chunks: number; truncated: boolean }
  >;
  parameters: Record<string, string | number>;
}

let key: string;
beforeAll(async () => {
  key = (await createApiKey({ rateLimit: { requests: 1000, window_seconds: 60 } })).key;
});

async function generate(body: Record<string, unknown>, headers?: Record<string, string>) {
  const response = await postJson('/v1/images', body, key, headers);
  expect(response.status).toBe(200);
  return { response, body: (await response.json()) as ImagesBody };
}

describe('POST /v1/images', () => {
  it('generates through a gpu-worker, then answers the same request from R2 with X-Cache: HIT and no gpu call', async () => {
    const prompt = uniquePrompt('a red circle');
    const request = { prompt, seed: 42, steps: 4 };

    const first = await generate(request);
    expect(first.response.headers.get('X-Cache')).toBe('MISS');
    expect(first.body.images).toHaveLength(1);
    expect(first.body.images[0]).toMatchObject({ seed: 42, cached: false });
    expect(await gpuCalls(prompt)).toHaveLength(1);

    const second = await generate(request);
    expect(second.response.headers.get('X-Cache')).toBe('HIT');
    expect(second.body.images[0].url).toBe(first.body.images[0].url);
    expect(second.body.images[0].cached).toBe(true);
    expect(await gpuCalls(prompt)).toHaveLength(1);
  });

  it('gives the same cache key to prompts that tokenize the same, and a new one for another seed', async () => {
    const prompt = uniquePrompt('a blue square');
    const first = await generate({ prompt, seed: 7 });
    // CLIP lower-cases and collapses whitespace, so these are the same token ids.
    const same = await generate({ prompt: `  ${prompt.toUpperCase()}  `, seed: 7 });
    expect(same.response.headers.get('X-Cache')).toBe('HIT');
    expect(same.body.images[0].url).toBe(first.body.images[0].url);
    const other = await generate({ prompt, seed: 8 });
    expect(other.response.headers.get('X-Cache')).toBe('MISS');
    expect(other.body.images[0].url).not.toBe(first.body.images[0].url);
  });

  it('asks the gpu-worker only for the seeds not yet cached (X-Cache: PARTIAL)', async () => {
    const prompt = uniquePrompt('a green star');
    await generate({ prompt, seed: 100 });
    const batch = await generate({ prompt, seed: 100, n: 3 });
    expect(batch.response.headers.get('X-Cache')).toBe('PARTIAL');
    expect(batch.body.seeds).toEqual([100, 101, 102]);
    expect(batch.body.images.map((i) => i.cached)).toEqual([true, false, false]);
    const calls = await gpuCalls(prompt);
    expect(calls.map((c) => c.seeds)).toEqual([[100], [101, 102]]);
  });

  it('chooses a random seed when the seed is -1 or absent, and returns it', async () => {
    const prompt = uniquePrompt('a yellow moon');
    const absent = await generate({ prompt });
    const minusOne = await generate({ prompt, seed: -1 });
    for (const { body } of [absent, minusOne]) {
      expect(body.seeds[0]).toBeGreaterThanOrEqual(0);
      expect(body.seeds[0]).toBeLessThan(2 ** 32);
      expect(body.parameters.seed).toBe(body.seeds[0]);
    }
    expect(absent.body.seeds[0]).not.toBe(minusOne.body.seeds[0]);
    const calls = await gpuCalls(prompt);
    expect(calls.map((c) => c.seeds[0])).toEqual([absent.body.seeds[0], minusOne.body.seeds[0]]);
  });

  it('reports token counts, the limit and truncation for both prompts', async () => {
    const prompt = uniquePrompt('a (small:1.3) house BREAK a tree');
    const { body } = await generate({ prompt, negative_prompt: 'blurry', seed: 1 });
    expect(body.tokens.prompt.chunks).toBe(2);
    expect(body.tokens.prompt.count).toBeGreaterThan(4);
    expect(body.tokens.prompt.limit).toBe(225);
    expect(body.tokens.prompt.truncated).toBe(false);
    expect(body.tokens.negative_prompt).toMatchObject({ chunks: 1, truncated: false });
    expect(body.tokens.negative_prompt.count).toBeGreaterThan(0);
  });

  it("fills in the model's defaults and sends them to the gpu-worker", async () => {
    const prompt = uniquePrompt('a grey cloud');
    const { body } = await generate({ prompt, seed: 3 });
    expect(body.model).toBe('tiny-sd');
    expect(body.revision).toMatch(/^[0-9a-f]{16}$/);
    expect(body.parameters).toMatchObject({
      width: 64,
      height: 64,
      steps: 20,
      guidance_scale: 7.5,
      scheduler: 'ddim',
    });
    const [call] = await gpuCalls(prompt);
    expect(call).toMatchObject({ width: 64, height: 64, steps: 20, scheduler: 'ddim', seeds: [3] });
  });

  it('accepts an AUTOMATIC1111 sampler name for the scheduler', async () => {
    const prompt = uniquePrompt('a pink flower');
    const { body } = await generate({ prompt, seed: 3, scheduler: 'Euler a', steps: 5 });
    expect(body.parameters.scheduler).toBe('euler_ancestral');
    expect((await gpuCalls(prompt))[0].scheduler).toBe('euler_ancestral');
  });

  it('stores each image in R2 with immutable HTTP headers and its parameters as metadata', async () => {
    const prompt = uniquePrompt('an orange box');
    const { body } = await generate({ prompt, seed: 5, steps: 6 });
    const name = new URL(body.images[0].url).pathname.slice('/i/'.length);
    expect(name).toMatch(/^[0-9a-f]{64}\.png$/);
    const object = await env.IMAGES.head(name);
    expect(object?.httpMetadata).toMatchObject({
      contentType: 'image/png',
      cacheControl: 'public, max-age=31536000, immutable',
    });
    expect(object?.customMetadata?.seed).toBe('5');
    expect(JSON.parse(object?.customMetadata?.params ?? '{}')).toMatchObject({
      prompt,
      steps: 6,
      seed: 5,
      model: 'tiny-sd',
    });
    expect(body.images[0].share_url).toBe(`https://edge.test/p/${name.slice(0, 64)}`);
  });

  it('sends the embeddings cached from the first job with the next job for the same prompt', async () => {
    const prompt = uniquePrompt('a purple hat');
    const negative = uniquePrompt('ugly');
    await generate({ prompt, negative_prompt: negative, seed: 1 });
    await generate({ prompt, negative_prompt: uniquePrompt('blurry'), seed: 2 });
    await generate({ prompt, negative_prompt: negative, seed: 3 });
    const calls = await gpuCalls(prompt);
    expect(calls.map((c) => [c.prompt_embedding, c.negative_prompt_embedding])).toEqual([
      [false, false],
      [true, false],
      [true, true],
    ]);
  });

  it('sends an init image and its strength for img2img', async () => {
    const prompt = uniquePrompt('a painted fence');
    const init = pngHeaderBase64(64, 64, [1, 2, 3]);
    const png = Uint8Array.from(atob(init), (c) => c.charCodeAt(0));
    const { body } = await generate({ prompt, seed: 9, init_image: init });
    expect(body.parameters.strength).toBe(0.75);
    expect((await gpuCalls(prompt))[0].init_image_bytes).toBe(png.length);
    const stronger = await generate({ prompt, seed: 9, init_image: init, strength: 0.5 });
    expect(stronger.response.headers.get('X-Cache')).toBe('MISS');
  });
});
