// Small builders for the operations, so each path file reads as a list of what a route takes and
// answers rather than as nested JSON.
import { schemaRef } from './json-schema.ts';
import type { JsonSchema, Operation, Reference, RequestBody, Response } from './openapi-types.ts';
import { rateLimitHeaders } from './response-headers.ts';

export const PUBLIC: Operation['security'] = [];

export function responseRef(name: string): Reference {
  return { $ref: `#/components/responses/${name}` };
}

export function jsonBody(schema: string, example: unknown): RequestBody {
  return { required: true, content: { 'application/json': { schema: schemaRef(schema), example } } };
}

/** A multipart body: text fields and files (`format: binary`), as OpenAI's edits take them. */
export function formBody(schema: string, example: unknown): RequestBody {
  return { required: true, content: { 'multipart/form-data': { schema: schemaRef(schema), example } } };
}

export function jsonResponse(
  description: string,
  schema: string | JsonSchema,
  headers: Response['headers'] = {},
): Response {
  return {
    description,
    headers,
    content: { 'application/json': { schema: typeof schema === 'string' ? schemaRef(schema) : schema } },
  };
}

/** The errors any route that reads a JSON body can answer. */
export const BODY_ERRORS = {
  '400': responseRef('InvalidRequest'),
  '413': responseRef('TooLarge'),
  '415': responseRef('UnsupportedMediaType'),
};

/** The errors of a route that runs a generation on a gpu-worker. */
export const GPU_ERRORS = {
  '502': responseRef('GpuRejected'),
  '503': responseRef('GpuUnavailable'),
  '504': responseRef('GpuTimeout'),
};

/**
 * An operation behind the API key and its rate limit: 401 before the key is known, 429 over the
 * limit, and the RateLimit-* headers on every answer that got past the limiter.
 */
export function withApiKey(operation: Operation): Operation {
  const responses = Object.fromEntries(
    Object.entries(operation.responses).map(([status, response]) =>
      status.startsWith('2') && !('$ref' in response)
        ? [status, { ...response, headers: { ...response.headers, ...rateLimitHeaders() } }]
        : [status, response],
    ),
  );
  return {
    ...operation,
    responses: { ...responses, '401': responseRef('Unauthorized'), '429': responseRef('RateLimited') },
  };
}
