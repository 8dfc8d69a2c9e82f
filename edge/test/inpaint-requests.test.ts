// Inpainting requests at the edge (POST /v1/images with `mask`), against the fake gpu-worker: what
// the job carries, the cache key, the queued path through R2, and the refusals.
import { describe, expect, it } from 'vitest';
import { call, createApiKey, gpuCalls, pngHeaderBase64, postJson, uniquePrompt } from './support/api.ts';

interface ErrorBody {
  error: { code: string; field?: string; message: string };
}

const image = pngHeaderBase64(64, 64);
const mask = pngHeaderBase64(64, 64, [1]);
const keyOf = async () => (await createApiKey({ rateLimit: { requests: 1000, window_seconds: 60 } })).key;

describe('inpainting requests', () => {
  it('sends the mask as its own part with the defaults (blur 4, original content), and keys the cache on it', async () => {
    const key = await keyOf();
    const prompt = uniquePrompt('a patched wall');
    const first = await postJson('/v1/images', { prompt, seed: 3, init_image: image, mask }, key);
    expect(first.status).toBe(200);
    const body = (await first.json()) as { parameters: Record<string, unknown> };
    expect(body.parameters).toMatchObject({ mask_blur: 4, masked_content: 'original', invert_mask: false });
    const [job] = await gpuCalls(prompt);
    expect(job.inpaint).toEqual({
      mask_bytes: atob(mask).length,
      source: 'luminance',
      invert: false,
      blur: 4,
      masked_content: 'original',
    });
    // The same request without the mask, or with other mask options, is another image.
    for (const other of [
      { init_image: image },
      { init_image: image, mask, invert_mask: true },
      { init_image: image, mask: pngHeaderBase64(64, 64, [2]) },
    ]) {
      const again = await postJson('/v1/images', { prompt, seed: 3, ...other }, key);
      expect(again.headers.get('X-Cache')).toBe('MISS');
    }
    const same = await postJson('/v1/images', { prompt, seed: 3, init_image: image, mask }, key);
    expect(same.headers.get('X-Cache')).toBe('HIT');
  });

  it('carries the mask through the queue for an asynchronous job', async () => {
    const key = await keyOf();
    const prompt = uniquePrompt('a queued patch');
    const response = await postJson(
      '/v1/images',
      { prompt, seed: 8, init_image: image, mask, mask_source: 'alpha', masked_content: 'fill' },
      key,
      { Prefer: 'respond-async' },
    );
    expect(response.status).toBe(202);
    const { url } = (await response.json()) as { url: string };
    let status = '';
    for (let i = 0; i < 100 && status !== 'succeeded' && status !== 'failed'; i++) {
      status = ((await (await call(new URL(url).pathname, { key })).json()) as { status: string }).status;
      if (status !== 'succeeded') await new Promise((r) => setTimeout(r, 50));
    }
    expect(status).toBe('succeeded');
    const [job] = await gpuCalls(prompt);
    expect(job.inpaint).toMatchObject({
      mask_bytes: atob(mask).length,
      source: 'alpha',
      masked_content: 'fill',
    });
  });

  it('outpaints onto a canvas of the image size plus the extensions, with the border blur and content', async () => {
    const key = await keyOf();
    const prompt = uniquePrompt('a wider shore');
    const wide = pngHeaderBase64(64, 32);
    const response = await postJson(
      '/v1/images',
      { prompt, seed: 2, init_image: wide, outpaint: { left: 16, right: 16, bottom: 32 }, mask_blur: 2 },
      key,
    );
    expect(response.status).toBe(200);
    const [job] = await gpuCalls(prompt);
    expect([job.width, job.height]).toEqual([96, 64]);
    expect(job.outpaint).toEqual({
      left: 16,
      right: 16,
      top: 0,
      bottom: 32,
      blur: 2,
      masked_content: 'original',
    });
    expect(job.inpaint).toBeUndefined();
  });

  it.each([
    ['outpaint without init_image', { outpaint: { left: 8 } }, 'outpaint'],
    ['outpaint with a mask', { init_image: image, mask, outpaint: { left: 8 } }, 'outpaint'],
    ['outpaint extending nothing', { init_image: image, outpaint: {} }, 'outpaint'],
    ['a mask without init_image', { mask }, 'mask'],
    ['a mask of another size', { init_image: image, mask: pngHeaderBase64(64, 32) }, 'mask'],
    ['a mask that is not an image', { init_image: image, mask: btoa('not an image at all') }, 'mask'],
    ['an unknown masked_content', { init_image: image, mask, masked_content: 'sparkles' }, 'masked_content'],
    ['a mask blur past 64', { init_image: image, mask, mask_blur: 65 }, 'mask_blur'],
  ])('refuses %s with a 400 naming the field, and calls no gpu-worker', async (_, fields, field) => {
    const key = await keyOf();
    const prompt = uniquePrompt('a refused patch');
    const response = await postJson('/v1/images', { prompt, ...fields }, key);
    expect(response.status).toBe(400);
    const { error } = (await response.json()) as ErrorBody;
    expect(error.field).toBe(field);
    expect(await gpuCalls(prompt)).toHaveLength(0);
  });
});
