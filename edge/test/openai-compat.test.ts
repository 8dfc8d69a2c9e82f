// POST /v1/images/generations driven by the official `openai` npm client, unchanged except that
// its fetch is the Worker's front door (SELF) instead of the network.
import { SELF } from 'cloudflare:test';
import OpenAI from 'openai';
import { beforeAll, describe, expect, it } from 'vitest';
import { createApiKey, gpuCalls, ORIGIN, uniquePrompt } from './support/api.ts';

let client: OpenAI;
beforeAll(async () => {
  const { key } = await createApiKey({ rateLimit: { requests: 1000, window_seconds: 60 } });
  client = new OpenAI({
    apiKey: key,
    baseURL: `${ORIGIN}/v1`,
    fetch: (input, init) => SELF.fetch(input as string, init as RequestInit),
    maxRetries: 0,
  });
});

describe('the OpenAI Images API', () => {
  it('generates with images.generate and answers image URLs the edge serves', async () => {
    const prompt = uniquePrompt('a watercolor fox');
    const result = await client.images.generate({ model: 'dall-e-3', prompt, n: 2, size: '64x64' });
    expect(result.data).toHaveLength(2);
    const url = result.data?.[0].url ?? '';
    expect(url).toMatch(new RegExp(`^${ORIGIN}/i/[0-9a-f]{64}\\.png$`));
    const image = await SELF.fetch(url);
    expect(image.status).toBe(200);
    expect(image.headers.get('Content-Type')).toBe('image/png');
    const [call] = await gpuCalls(prompt);
    expect(call.seeds).toHaveLength(2);
    expect(call).toMatchObject({ width: 64, height: 64 });
  });

  it('answers b64_json with the PNG bytes, also for a cached image', async () => {
    const prompt = uniquePrompt('a paper boat');
    const request = {
      prompt,
      size: '64x64',
      response_format: 'b64_json',
      seed: 5,
    } as OpenAI.ImageGenerateParamsNonStreaming & { seed: number };
    const fresh = await client.images.generate(request);
    const cached = await client.images.generate(request);
    const bytes = (b64: string | undefined) => Uint8Array.from(atob(b64 ?? ''), (ch) => ch.charCodeAt(0));
    const first = bytes(fresh.data?.[0].b64_json);
    expect([...first.subarray(1, 4)]).toEqual([0x50, 0x4e, 0x47]);
    expect(bytes(cached.data?.[0].b64_json)).toEqual(first);
    expect(await gpuCalls(prompt)).toHaveLength(1);
  });

  it('surfaces a size the model cannot make as a 400 BadRequestError naming size', async () => {
    const error = await client.images.generate({ prompt: 'x', size: '1024x1024' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.BadRequestError);
    const apiError = error as InstanceType<typeof OpenAI.BadRequestError>;
    expect(apiError.status).toBe(400);
    expect((apiError.error as { field?: string }).field).toBe('size');
    expect(apiError.message).toContain('1024');
  });

  it('refuses a key it does not know with an AuthenticationError', async () => {
    const stranger = new OpenAI({
      apiKey: 'le_unknown',
      baseURL: `${ORIGIN}/v1`,
      fetch: (input, init) => SELF.fetch(input as string, init as RequestInit),
      maxRetries: 0,
    });
    await expect(stranger.images.generate({ prompt: 'x' })).rejects.toBeInstanceOf(
      OpenAI.AuthenticationError,
    );
  });
});
