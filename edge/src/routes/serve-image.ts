// GET and HEAD /i/<key>.<ext>: images from R2, content-addressed, so cached for a year as
// immutable with the object's strong ETag. The Workers Cache API sits in front (it answers
// conditional and Range requests from a cached full response itself); on a miss the object is
// read from R2, conditional and Range requests are answered here (304, 206, 416), and a full
// 200 is put in the cache after the response is sent (SD-NOTES §6.2, §6.3).
import { Hono } from 'hono';
import type { AppEnv } from '../env.ts';
import { IMMUTABLE_CACHE_CONTROL, OBJECT_NAME } from '../generation/image-objects.ts';
import { ApiError } from '../http/api-error.ts';
import { etagMatches, parseByteRange } from '../http/byte-range.ts';

export const serveImage = new Hono<AppEnv>();

function objectHeaders(object: R2Object): Headers {
  const headers = new Headers();
  object.writeHttpMetadata(headers);
  headers.set('ETag', object.httpEtag);
  headers.set('Cache-Control', IMMUTABLE_CACHE_CONTROL);
  headers.set('Accept-Ranges', 'bytes');
  headers.set('X-Content-Type-Options', 'nosniff');
  return headers;
}

serveImage.on(['GET', 'HEAD'], '/:name', async (c) => {
  const name = c.req.param('name');
  if (!OBJECT_NAME.test(name))
    throw new ApiError(404, 'not_found', `no image ${JSON.stringify(name.slice(0, 100))}`);
  const request = c.req.raw;
  const isGet = request.method === 'GET';
  const cache = caches.default;
  if (isGet) {
    const hit = await cache.match(request);
    // The cache answers 416 without a body; ours carries the JSON error, so let R2 answer that.
    if (hit && hit.status !== 416) return hit;
    await hit?.body?.cancel();
  }

  const ifNoneMatch = c.req.header('If-None-Match');
  const rangeHeader = c.req.header('Range');
  if (!isGet || ifNoneMatch || rangeHeader) {
    const head = await c.env.IMAGES.head(name);
    if (!head) throw new ApiError(404, 'not_found', `no image ${name}`);
    const headers = objectHeaders(head);
    if (ifNoneMatch && etagMatches(ifNoneMatch, head.httpEtag))
      return new Response(null, { status: 304, headers });
    const ifRange = c.req.header('If-Range');
    const range =
      rangeHeader && (!ifRange || ifRange === head.httpEtag)
        ? parseByteRange(rangeHeader, head.size)
        : undefined;
    if (range === 'unsatisfiable') {
      throw new ApiError(416, 'range_not_satisfiable', `the image has ${head.size} bytes`, {
        headers: { 'Content-Range': `bytes */${head.size}` },
      });
    }
    if (!isGet) {
      headers.set('Content-Length', String(head.size));
      return new Response(null, { status: 200, headers });
    }
    if (range) {
      const part = await c.env.IMAGES.get(name, { range });
      if (!part) throw new ApiError(404, 'not_found', `no image ${name}`);
      headers.set('Content-Range', `bytes ${range.offset}-${range.offset + range.length - 1}/${head.size}`);
      headers.set('Content-Length', String(range.length));
      return new Response(part.body, { status: 206, headers });
    }
  }

  const object = await c.env.IMAGES.get(name);
  if (!object) throw new ApiError(404, 'not_found', `no image ${name}`);
  const headers = objectHeaders(object);
  headers.set('Content-Length', String(object.size));
  const response = new Response(object.body, { status: 200, headers });
  c.executionCtx.waitUntil(cache.put(request.url, response.clone()));
  return response;
});
