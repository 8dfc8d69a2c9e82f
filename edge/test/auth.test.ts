// API keys: Bearer tokens hashed with SHA-256 and looked up in the real local KV.
import { describe, expect, it } from 'vitest';
import { call, createApiKey, type ErrorBody } from './support/api.ts';

async function expectUnauthorized(response: Response, code: string) {
  expect(response.status).toBe(401);
  expect(response.headers.get('Content-Type')).toMatch(/^application\/json/);
  expect(response.headers.get('WWW-Authenticate')).toMatch(/^Bearer /);
  const body = (await response.json()) as ErrorBody;
  expect(body.error.code).toBe(code);
  expect(body.error.message).not.toBe('');
}

describe('API key authentication', () => {
  it('returns 401 missing_api_key when no Authorization header is sent', async () => {
    await expectUnauthorized(await call('/v1/models'), 'missing_api_key');
  });

  it.each(['Token le_abc', 'Bearer', 'Bearer two words', 'Bearer le_a$b'])(
    'returns 401 invalid_authorization for the header %j',
    async (header) => {
      await expectUnauthorized(
        await call('/v1/models', { headers: { Authorization: header } }),
        'invalid_authorization',
      );
    },
  );

  it('returns 401 invalid_api_key for a key that was never issued', async () => {
    await expectUnauthorized(await call('/v1/models', { key: 'le_not-a-real-key' }), 'invalid_api_key');
  });

  it('returns 401 revoked_api_key for a revoked key', async () => {
    const { key } = await createApiKey({ revoked: true });
    await expectUnauthorized(await call('/v1/models', { key }), 'revoked_api_key');
  });

  it('accepts an issued key and stores only its hash', async () => {
    const { key, record } = await createApiKey();
    const response = await call('/v1/models', { key });
    expect(response.status).toBe(200);
    expect(record.hash).toMatch(/^[0-9a-f]{64}$/);
    expect(JSON.stringify(record)).not.toContain(key);
  });
});
