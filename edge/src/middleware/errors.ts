// The one error path: every thrown error becomes the JSON error shape with its status. Anything
// that is not an ApiError is a bug or an outage, logged here and answered as a 500 without its
// details; unknown routes are 404s in the same shape.
import type { Context } from 'hono';
import type { AppEnv } from '../env.ts';
import { ApiError, renderError, toApiError } from '../http/api-error.ts';

export function onError(error: Error, c: Context<AppEnv>): Response {
  const failure = toApiError(error);
  if (failure.status >= 500) console.error(`${c.req.method} ${c.req.path}:`, failure.options.cause ?? error);
  return renderError(c, failure);
}

export function notFound(c: Context<AppEnv>): Response {
  return renderError(
    c,
    new ApiError(404, 'not_found', `no route ${c.req.method} ${c.req.path.slice(0, 200)}`),
  );
}
