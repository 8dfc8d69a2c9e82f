// GET/HEAD /i/<key>.<ext>: immutable caching, strong ETag, 304, Range and HEAD, for images the
// Worker generated and stored itself, answered both from R2 (a fresh image) and from the Workers
// Cache API (an image already served once; its answers carry CF-Cache-Status: HIT).
import { beforeAll, describe, expect, it } from 'vitest';
import { call, createApiKey, type ErrorBody, postJson, uniquePrompt } from './support/api.ts';

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
/** Every PNG ends with the IEND chunk's CRC. */
const IEND_CRC = [0xae, 0x42, 0x60, 0x82];

interface Image {
  path: string;
  size: number;
  etag: string;
}

let key: string;
beforeAll(async () => {
  key = (await createApiKey({ rateLimit: { requests: 1000, window_seconds: 60 } })).key;
});

/** A new image, never requested from /i/ yet; its size and ETag as R2 reports them. */
async function freshImage(): Promise<Image> {
  const response = await postJson('/v1/images', { prompt: uniquePrompt('a lighthouse'), seed: 3 }, key);
  const body = (await response.json()) as { images: { url: string }[] };
  const path = new URL(body.images[0].url).pathname;
  const head = await call(path, { method: 'HEAD' });
  return { path, size: Number(head.headers.get('Content-Length')), etag: head.headers.get('ETag') ?? '' };
}

/** An image served once in full, then waited for until the Cache API answers it. */
async function cachedImage(): Promise<Image> {
  const image = await freshImage();
  for (let i = 0; i < 50; i++) {
    const response = await call(image.path);
    await response.arrayBuffer();
    if (response.headers.get('CF-Cache-Status') === 'HIT') return image;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error('the Cache API never answered the image');
}

describe.each([
  { source: 'R2', image: freshImage, cacheStatus: null },
  { source: 'the Cache API', image: cachedImage, cacheStatus: 'HIT' },
])('GET /i/<key>.png answered from $source', ({ image, cacheStatus }) => {
  it('serves the PNG with immutable caching and a strong ETag', async () => {
    const { path, size, etag } = await image();
    const response = await call(path);
    expect(response.status).toBe(200);
    expect(response.headers.get('CF-Cache-Status')).toBe(cacheStatus);
    expect(response.headers.get('Content-Type')).toBe('image/png');
    expect(response.headers.get('Cache-Control')).toBe('public, max-age=31536000, immutable');
    expect(response.headers.get('ETag')).toMatch(/^"[0-9a-f]+"$/);
    expect(response.headers.get('ETag')).toBe(etag);
    const bytes = new Uint8Array(await response.arrayBuffer());
    expect([...bytes.subarray(0, 8)]).toEqual(PNG_SIGNATURE);
    expect(bytes.length).toBe(size);
  });

  it('answers 304 without a body when If-None-Match has the ETag', async () => {
    const { path, etag } = await image();
    const response = await call(path, { headers: { 'If-None-Match': `"other", ${etag}` } });
    expect(response.status).toBe(304);
    expect(response.headers.get('ETag')).toBe(etag);
    expect(await response.text()).toBe('');
    const changed = await call(path, { headers: { 'If-None-Match': '"something-else"' } });
    expect(changed.status).toBe(200);
    await changed.arrayBuffer();
  });

  it('answers a byte range with 206 and Content-Range', async () => {
    const { path, size } = await image();
    const start = await call(path, { headers: { Range: 'bytes=0-7' } });
    expect(start.status).toBe(206);
    expect(start.headers.get('CF-Cache-Status')).toBe(cacheStatus);
    expect(start.headers.get('Content-Range')).toBe(`bytes 0-7/${size}`);
    expect([...new Uint8Array(await start.arrayBuffer())]).toEqual(PNG_SIGNATURE);
    const tail = await call(path, { headers: { Range: 'bytes=-4' } });
    expect(tail.status).toBe(206);
    expect(tail.headers.get('Content-Range')).toBe(`bytes ${size - 4}-${size - 1}/${size}`);
    expect([...new Uint8Array(await tail.arrayBuffer())]).toEqual(IEND_CRC);
  });

  it('answers a range past the end with 416, the size, and a JSON error', async () => {
    const { path, size } = await image();
    const response = await call(path, { headers: { Range: `bytes=${size + 10}-` } });
    expect(response.status).toBe(416);
    expect(response.headers.get('Content-Range')).toBe(`bytes */${size}`);
    expect(((await response.json()) as ErrorBody).error.code).toBe('range_not_satisfiable');
  });
});

describe('HEAD and unknown images', () => {
  it('answers HEAD with the headers and length but no body', async () => {
    const { path, size, etag } = await freshImage();
    const response = await call(path, { method: 'HEAD' });
    expect(response.status).toBe(200);
    expect(response.headers.get('Content-Length')).toBe(String(size));
    expect(size).toBeGreaterThan(50);
    expect(response.headers.get('ETag')).toBe(etag);
    expect(response.headers.get('Content-Type')).toBe('image/png');
    expect(response.headers.get('Cache-Control')).toBe('public, max-age=31536000, immutable');
    expect(await response.text()).toBe('');
  });

  it('answers 404 in the JSON error shape for a key that was never generated', async () => {
    const response = await call(`/i/${'ab'.repeat(32)}.png`);
    expect(response.status).toBe(404);
    expect(((await response.json()) as ErrorBody).error.code).toBe('not_found');
  });
});
