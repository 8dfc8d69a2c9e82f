// API key records remembered in the isolate for API_KEY_CACHE_SECONDS: a key revoked in KV keeps
// working until the window has passed, then answers 401; an unknown key is never remembered; the
// memory is bounded. The Worker is called with its window set in a copy of the env.
import { createExecutionContext, env } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { type ApiKeyRecord, generateApiKey, newApiKeyRecord } from '../src/auth/api-key.ts';
import { findApiKey, loadApiKeyRecord } from '../src/auth/api-key-cache.ts';
import worker from '../src/index.ts';
import { TimedMemory } from '../src/memory/timed-memory.ts';
import { createApiKey, type ErrorBody, ORIGIN } from './support/api.ts';

function withWindow(seconds: number): Env {
  return { ...env, API_KEY_CACHE_SECONDS: seconds };
}

async function answer(bindings: Env, key: string): Promise<{ status: number; code?: string }> {
  const request = new Request(`${ORIGIN}/v1/models`, { headers: { Authorization: `Bearer ${key}` } });
  const response = await worker.fetch(request, bindings, createExecutionContext());
  if (response.ok) {
    await response.arrayBuffer();
    return { status: response.status };
  }
  return { status: response.status, code: ((await response.json()) as ErrorBody).error.code };
}

async function putRecord(record: ApiKeyRecord): Promise<void> {
  await env.API_KEYS.put(record.hash, JSON.stringify(record), { metadata: record });
}

function revoke(record: ApiKeyRecord): Promise<void> {
  return putRecord({ ...record, revoked_at: new Date().toISOString() });
}

describe('API key records in isolate memory', () => {
  it('keeps accepting a key revoked inside the window, and refuses it once the window has passed', async () => {
    const { key, record } = await createApiKey();
    const remembering = withWindow(60);
    expect(await answer(remembering, key)).toEqual({ status: 200 });
    await revoke(record);
    expect(await answer(remembering, key)).toEqual({ status: 200 });

    await new Promise((resolve) => setTimeout(resolve, 1100));
    expect(await answer(withWindow(1), key)).toEqual({ status: 401, code: 'revoked_api_key' });
    // The revoked record read then is what every window remembers from now on.
    expect(await answer(remembering, key)).toEqual({ status: 401, code: 'revoked_api_key' });
  });

  it('reads KV on every request when API_KEY_CACHE_SECONDS is 0', async () => {
    const { key, record } = await createApiKey();
    const uncached = withWindow(0);
    expect(await answer(uncached, key)).toEqual({ status: 200 });
    await revoke(record);
    expect(await answer(uncached, key)).toEqual({ status: 401, code: 'revoked_api_key' });
  });

  it('does not remember an unknown key: once written to KV it works on the next request', async () => {
    const key = generateApiKey();
    const remembering = withWindow(60);
    expect(await answer(remembering, key)).toEqual({ status: 401, code: 'invalid_api_key' });
    await putRecord(await newApiKeyRecord(key, 'late key'));
    expect(await answer(remembering, key)).toEqual({ status: 200 });
  });

  it('holds a bounded number of records, forgetting the oldest first', async () => {
    const memory = new TimedMemory<ApiKeyRecord>(2);
    const records = await Promise.all([1, 2, 3].map(() => newApiKeyRecord(generateApiKey(), 'bounded')));
    await Promise.all(records.map(putRecord));
    for (const record of records) await loadApiKeyRecord(env.API_KEYS, record.hash, 60_000, memory);
    // Revoked in KV: a record still remembered comes back unrevoked; the forgotten one is read again.
    await Promise.all(records.map(revoke));
    const [oldest, ...newer] = await Promise.all(
      records.map((record) => loadApiKeyRecord(env.API_KEYS, record.hash, 60_000, memory)),
    );
    expect(oldest?.revoked_at).toBeDefined();
    expect(newer.map((record) => record?.revoked_at)).toEqual([undefined, undefined]);
  });
});

describe('API key hashes in isolate memory', () => {
  const memories = () => ({
    records: new TimedMemory<ApiKeyRecord>(10),
    hashes: new TimedMemory<string>(10),
  });

  it("remembers a found key's hash, for the window only, and never an unknown key's", async () => {
    const memory = memories();
    const { key, record } = await createApiKey();
    expect(await findApiKey(env.API_KEYS, key, 60_000, memory)).toEqual(record);
    expect(memory.hashes.recall(key, 60_000)).toBe(record.hash);
    expect(memory.hashes.recall(key, 0)).toBeUndefined();

    const unknown = generateApiKey();
    expect(await findApiKey(env.API_KEYS, unknown, 60_000, memory)).toBeUndefined();
    expect(memory.hashes.recall(unknown, 60_000)).toBeUndefined();
  });

  it('finds the record through a remembered hash, and nothing for a key that is not the one remembered', async () => {
    const memory = memories();
    const { key, record } = await createApiKey();
    await findApiKey(env.API_KEYS, key, 60_000, memory);
    expect(await findApiKey(env.API_KEYS, key, 60_000, memory)).toEqual(record);
    expect(await findApiKey(env.API_KEYS, `${key.slice(0, -1)}x`, 60_000, memory)).toBeUndefined();
  });

  it('remembers nothing when API_KEY_CACHE_SECONDS is 0', async () => {
    const memory = memories();
    const { key } = await createApiKey();
    expect(await findApiKey(env.API_KEYS, key, 0, memory)).toBeDefined();
    expect(memory.hashes.recall(key, 60_000)).toBeUndefined();
  });
});
