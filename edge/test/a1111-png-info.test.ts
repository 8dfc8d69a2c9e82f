// POST /sdapi/v1/png-info and GET /sdapi/v1/schedulers, with the bodies A1111 clients send: the
// text chunks of a PNG a txt2img answered, written as Pillow writes them, read back A1111's way.
import { formatInfotext } from '@latent-edge/shared/infotext';
import { beforeAll, describe, expect, it } from 'vitest';
import { MAX_INFLATED_TEXT_BYTES } from '../src/compat/png-text.ts';
import { call, createApiKey, type ErrorBody, postJson, uniquePrompt } from './support/api.ts';
import { fromBase64, toBase64, withTextChunks } from './support/png-chunks.ts';

let key: string;
let png: Uint8Array;
beforeAll(async () => {
  key = (await createApiKey({ rateLimit: { requests: 1000, window_seconds: 60 } })).key;
  const made = await postJson('/sdapi/v1/txt2img', { prompt: uniquePrompt('a mill'), seed: 3 }, key);
  png = fromBase64(((await made.json()) as { images: string[] }).images[0]);
});

const INFOTEXT = formatInfotext({
  prompt: 'a mill by a river, (ink:1.1)',
  negativePrompt: 'fog, blur',
  steps: 12,
  scheduler: 'euler_ancestral',
  guidanceScale: 6.5,
  seed: 77,
  width: 64,
  height: 96,
  model: 'tiny-sd',
  modelHash: 'ec9c825edc',
});

describe('POST /sdapi/v1/png-info', () => {
  it('answers the parameters chunk as info, the other text chunks as items, and the parsed dict', async () => {
    const image = await withTextChunks(png, [
      { keyword: 'parameters', text: INFOTEXT, kind: 'tEXt' },
      { keyword: 'Software', text: 'latent-edge', kind: 'zTXt' },
      { keyword: 'Comment', text: 'café ☕', kind: 'iTXt-deflated' },
      { keyword: 'Title', text: 'mill', kind: 'iTXt' },
    ]);
    const response = await postJson('/sdapi/v1/png-info', { image: toBase64(image) }, key);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({
      info: INFOTEXT,
      items: { Software: 'latent-edge', Comment: 'café ☕', Title: 'mill' },
      parameters: {
        Prompt: 'a mill by a river, (ink:1.1)',
        'Negative prompt': 'fog, blur',
        Steps: '12',
        Sampler: 'Euler a',
        'CFG scale': '6.5',
        Seed: '77',
        'Size-1': '64',
        'Size-2': '96',
        'Model hash': 'ec9c825edc',
        Model: 'tiny-sd',
        'Clip skip': '1',
      },
    });
  });

  it('accepts a data: URL, as the web UI sends it, and a UTF-8 infotext in iTXt', async () => {
    const text = 'ein Schloss über dem Tal\nSteps: 4, Sampler: Euler, Seed: 5';
    const image = await withTextChunks(png, [{ keyword: 'parameters', text, kind: 'iTXt' }]);
    const response = await postJson(
      '/sdapi/v1/png-info',
      { image: `data:image/png;base64,${toBase64(image)}` },
      key,
    );
    const body = (await response.json()) as { info: string; parameters: Record<string, string> };
    expect(body.info).toBe(text);
    expect(body.parameters).toMatchObject({ Prompt: 'ein Schloss über dem Tal', Seed: '5' });
  });

  it('answers an empty info for a PNG without parameters, as A1111 does', async () => {
    const response = await postJson('/sdapi/v1/png-info', { image: toBase64(png) }, key);
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ info: '', items: {} });
  });

  it.each([
    ['not base64', '%%% not base64 %%%', 'base64'],
    ['not a PNG', btoa('GIF89a and some bytes'), 'not a PNG'],
    ['a PNG cut short', 'TRUNCATED', 'cut short'],
  ])('refuses %s with a 400 naming image', async (_, image, reason) => {
    let sent = image;
    if (image === 'TRUNCATED') sent = toBase64(png.subarray(0, png.length - 20));
    const response = await postJson('/sdapi/v1/png-info', { image: sent }, key);
    expect(response.status).toBe(400);
    const { error } = (await response.json()) as ErrorBody;
    expect(error).toMatchObject({ code: 'invalid_image', field: 'image' });
    expect(error.message).toContain(reason);
  });

  it('refuses a compressed chunk that inflates past its limit (a deflate bomb) with a 400', async () => {
    const image = await withTextChunks(png, [
      { keyword: 'parameters', text: 'a'.repeat(MAX_INFLATED_TEXT_BYTES + 1), kind: 'zTXt' },
    ]);
    expect(image.length).toBeLessThan(MAX_INFLATED_TEXT_BYTES / 100);
    const response = await postJson('/sdapi/v1/png-info', { image: toBase64(image) }, key);
    expect(response.status).toBe(400);
    expect(((await response.json()) as ErrorBody).error.message).toContain('inflates past');
  });

  it('refuses a body without image, naming the field', async () => {
    const response = await postJson('/sdapi/v1/png-info', {}, key);
    expect(response.status).toBe(400);
    expect(((await response.json()) as ErrorBody).error.field).toBe('image');
  });
});

describe('GET /sdapi/v1/schedulers', () => {
  it("lists the schedules a request may name, in A1111 1.9's shape, and Karras selects one", async () => {
    const response = await call('/sdapi/v1/schedulers', { key });
    expect(response.status).toBe(200);
    const schedules = (await response.json()) as { name: string; label: string; default_rho: number }[];
    expect(schedules).toContainEqual({
      name: 'karras',
      label: 'Karras',
      aliases: null,
      default_rho: 7,
      need_inner_model: false,
    });
    expect(schedules.map((s) => s.name)).toContain('automatic');
    const made = await postJson(
      '/sdapi/v1/txt2img',
      { prompt: 'x', sampler_name: 'DPM++ 2M', scheduler: schedules[1].label, steps: 4 },
      key,
    );
    expect(JSON.parse(((await made.json()) as { info: string }).info).sampler_name).toBe('DPM++ 2M Karras');
  });
});
