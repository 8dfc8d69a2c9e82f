// GET /v1/models and POST /v1/tokenize: what a client needs to build a valid request.
import { beforeAll, describe, expect, it } from 'vitest';
import { call, createApiKey, type ErrorBody, postJson } from './support/api.ts';

let key: string;
beforeAll(async () => {
  key = (await createApiKey()).key;
});

describe('GET /v1/models', () => {
  it('lists the served models with their revision, defaults and limits, the default first', async () => {
    const response = await call('/v1/models', { key });
    expect(response.status).toBe(200);
    const body = (await response.json()) as { data: Record<string, unknown>[] };
    expect(body.data.map((m) => m.id)).toEqual(['tiny-sd', 'tiny-sdxl', 'tiny-sdxl-turbo']);
    expect(body.data[0]).toMatchObject({
      id: 'tiny-sd',
      family: 'sd1',
      sizes: null,
      text_encoders: 1,
      defaults: { width: 64, height: 64, steps: 20, scheduler: 'ddim' },
      limits: { max_width: 256, size_multiple: 32, max_steps: 50, max_prompt_tokens: 225 },
    });
    expect(body.data[0].revision).toMatch(/^[0-9a-f]{16}$/);
  });
});

describe('POST /v1/tokenize', () => {
  it('reports the token count, chunks, ids and emphasis weights', async () => {
    const response = await postJson('/v1/tokenize', { prompt: 'a (red:1.5) circle' }, key);
    expect(response.status).toBe(200);
    const body = (await response.json()) as {
      token_count: number;
      truncated: boolean;
      chunks: { ids: number[]; weights: number[]; tokens: { text: string; weight: number }[] }[];
    };
    expect(body.truncated).toBe(false);
    expect(body.chunks).toHaveLength(1);
    expect(body.chunks[0].ids).toHaveLength(77);
    expect(body.chunks[0].weights).toHaveLength(77);
    expect(body.chunks[0].tokens).toHaveLength(body.token_count);
    expect(body.chunks[0].tokens.map((t) => t.text).join('')).toBe('a</w>red</w>circle</w>');
    expect(
      body.chunks[0].tokens
        .filter((t) => t.weight === 1.5)
        .map((t) => t.text)
        .join(''),
    ).toBe('red</w>');
  });

  it('refuses an unknown field', async () => {
    const response = await postJson('/v1/tokenize', { prompt: 'a', steps: 3 }, key);
    expect(response.status).toBe(400);
    expect(((await response.json()) as ErrorBody).error.message).toContain('"steps"');
  });
});
