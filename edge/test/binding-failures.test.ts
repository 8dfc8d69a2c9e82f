// When R2, KV, a Durable Object or the Queue fails (an outage, a reset object, a write limit),
// the client gets a 503 with Retry-After, in the JSON error shape, rather than a 500 that reads
// as a bug. The failing bindings wrap the real local ones and throw what Cloudflare's throw.
import { createExecutionContext, env, waitOnExecutionContext } from 'cloudflare:test';
import { beforeAll, describe, expect, it } from 'vitest';
import worker from '../src/index.ts';
import { createApiKey, type ErrorBody, ORIGIN, uniquePrompt } from './support/api.ts';

let key: string;
beforeAll(async () => {
  key = (await createApiKey({ rateLimit: { requests: 1000, window_seconds: 60 } })).key;
});

/** The binding with every method call failing as `message` says (sync throw or rejection). */
function failing<T extends object>(binding: T, message: string, sync = false): T {
  return new Proxy(binding, {
    get(target, prop) {
      const value = Reflect.get(target, prop);
      if (typeof value !== 'function') return value;
      return () => {
        if (sync) throw new Error(message);
        return Promise.reject(new Error(message));
      };
    },
  });
}

/** A Durable Object namespace whose stubs' calls fail as a reset or overloaded object's do. */
function failingObjects<T extends object>(namespace: T, message: string): T {
  return new Proxy(namespace, {
    get(target, prop) {
      if (prop !== 'getByName' && prop !== 'get') return Reflect.get(target, prop);
      return () =>
        new Proxy(
          {},
          {
            get: () => () => Promise.reject(Object.assign(new Error(message), { retryable: true })),
          },
        );
    },
  });
}

async function send(path: string, init: RequestInit, bindings: Partial<Env>): Promise<Response> {
  const ctx = createExecutionContext();
  const headers = new Headers(init.headers);
  headers.set('Authorization', `Bearer ${key}`);
  const response = await worker.fetch(
    new Request(`${ORIGIN}${path}`, { ...init, headers }),
    { ...env, ...bindings },
    ctx,
  );
  await waitOnExecutionContext(ctx);
  return response;
}

async function unavailable(response: Response): Promise<ErrorBody['error']> {
  expect(response.status).toBe(503);
  expect(Number(response.headers.get('Retry-After'))).toBeGreaterThan(0);
  const { error } = (await response.json()) as ErrorBody;
  // The binding's own words stay in the logs.
  expect(error.message).not.toContain('10001');
  return error;
}

const generate = (prompt: string, headers: Record<string, string> = {}) => ({
  method: 'POST',
  headers: { 'Content-Type': 'application/json', ...headers },
  body: JSON.stringify({ prompt, seed: 3 }),
});

describe('a binding that fails', () => {
  it('R2: serving an image answers 503 with Retry-After', async () => {
    const IMAGES = failing(env.IMAGES, 'get: We encountered an internal error. Please try again. (10001)');
    const error = await unavailable(await send(`/i/${'a'.repeat(64)}.png`, {}, { IMAGES }));
    expect(error.code).toBe('storage_unavailable');
  });

  it('R2: a generation whose store fails answers 503', async () => {
    const IMAGES = failing(env.IMAGES, 'put: We encountered an internal error. Please try again. (10001)');
    await unavailable(await send('/v1/images', generate(uniquePrompt('r2 down')), { IMAGES }));
  });

  it('KV: an API key that cannot be read answers 503, not 401 or 500', async () => {
    const fresh = (await createApiKey()).key;
    const API_KEYS = failing(env.API_KEYS, 'KV GET failed: 500 Internal Server Error');
    const ctx = createExecutionContext();
    const response = await worker.fetch(
      new Request(`${ORIGIN}/v1/models`, { headers: { Authorization: `Bearer ${fresh}` } }),
      { ...env, API_KEYS },
      ctx,
    );
    await unavailable(response);
  });

  it('Durable Object: a rate limiter that is reset answers 503', async () => {
    const RATE_LIMITER = failingObjects(
      env.RATE_LIMITER,
      'Durable Object reset because its code was updated.',
    );
    await unavailable(await send('/v1/models', {}, { RATE_LIMITER }));
  });

  it('Queue: an async job that cannot be queued answers 503', async () => {
    const JOBS = failing(env.JOBS, 'Queue send failed: internal error (10001)');
    await unavailable(
      await send('/v1/images', generate(uniquePrompt('queue down'), { Prefer: 'respond-async' }), { JOBS }),
    );
  });

  it('a synchronous throw from a binding method is a 503 too', async () => {
    const IMAGES = failing(env.IMAGES, 'head: internal error (10001)', true);
    await unavailable(await send(`/i/${'b'.repeat(64)}.png`, {}, { IMAGES }));
  });
});
