// The error answers several routes share, each with the JSON error shape (ErrorBody) and an example
// in the words the edge really uses (edge/src/http/, edge/src/middleware/, gpu-pool.ts).
import { schemaRef } from './json-schema.ts';
import type { Response } from './openapi-types.ts';
import { headerRef, rateLimitHeaders } from './response-headers.ts';

function errorResponse(
  description: string,
  example: { code: string; message: string; field?: string },
  extraHeaders: Response['headers'] = {},
): Response {
  return {
    description,
    headers: extraHeaders,
    content: { 'application/json': { schema: schemaRef('ErrorBody'), example: { error: example } } },
  };
}

export const ERROR_RESPONSES: Record<string, Response> = {
  InvalidRequest: errorResponse(
    'The request is invalid: the message names the field, the value and the rule.',
    {
      code: 'invalid_request',
      message: 'width: must be a multiple of 8; got 500',
      field: 'width',
    },
  ),
  Unauthorized: errorResponse(
    'No API key, a malformed Authorization header, or a key that is unknown or revoked (each has its own code).',
    { code: 'missing_api_key', message: 'send your API key as "Authorization: Bearer <key>"' },
    { 'WWW-Authenticate': headerRef('WWW-Authenticate') },
  ),
  NotFound: errorResponse('Nothing here (or nothing this key may see).', {
    code: 'not_found',
    message: 'no job "0b6f5c1e-2f7d-4a8e-9a43-6c1f2d3e4b5a" for this API key',
  }),
  TooLarge: errorResponse('The body is larger than this route accepts.', {
    code: 'too_large',
    message: 'request bodies on this route are limited to 12582912 bytes',
  }),
  UnsupportedMediaType: errorResponse('The body is not sent as JSON.', {
    code: 'unsupported_media_type',
    message: 'send the body as JSON with "Content-Type: application/json"',
  }),
  RateLimited: errorResponse(
    'Over this key’s request limit, or (`quota_exceeded`, on generations) its images/day or worker-seconds/month quota, with Retry-After at the period’s end.',
    { code: 'rate_limited', message: 'this key may make 60 requests per 60 s; retry in 12 s' },
    { 'Retry-After': headerRef('Retry-After'), ...rateLimitHeaders() },
  ),
  GpuRejected: errorResponse('A gpu-worker refused the job.', {
    code: 'gpu_rejected',
    message: 'the gpu-worker refused the job: …',
  }),
  GpuUnavailable: errorResponse(
    'Every gpu-worker is busy or down; try again after Retry-After.',
    { code: 'gpu_unavailable', message: 'no gpu-worker could take the job (…)' },
    { 'Retry-After': headerRef('Retry-After') },
  ),
  GpuTimeout: errorResponse('The gpu-workers did not finish in time (one attempt and one retry).', {
    code: 'gpu_timeout',
    message: 'no gpu-worker finished the job in time (…)',
  }),
};
