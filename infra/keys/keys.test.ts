// The API key script against real local KV state, through wrangler, in a temporary folder.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { hashApiKey } from '../../edge/src/auth/api-key.ts';
import { createKey, listKeys, revokeKey } from './keys.ts';

const persistTo = mkdtempSync(join(tmpdir(), 'latent-edge-keys-'));
afterAll(() => rmSync(persistTo, { recursive: true, force: true }));

describe('infra/keys', () => {
  it('creates a key storing only its hash, lists it, and revokes it', async () => {
    const store = { persistTo };
    const { key, record } = await createKey(store, 'test app', { requests: 5, window_seconds: 60 });
    expect(key).toMatch(/^le_[A-Za-z0-9_-]{43}$/);
    expect(record.hash).toBe(await hashApiKey(key));

    const listed = listKeys(store);
    expect(listed).toHaveLength(1);
    expect(listed[0]).toMatchObject({
      id: record.id,
      name: 'test app',
      rate_limit: { requests: 5, window_seconds: 60 },
    });
    expect(listed[0].revoked_at).toBeUndefined();
    expect(JSON.stringify(listed)).not.toContain(key);

    const revoked = revokeKey(store, record.id);
    expect(revoked.revoked_at).toBeDefined();
    expect(listKeys(store)[0].revoked_at).toBe(revoked.revoked_at);
    expect(() => revokeKey(store, 'nonexistent')).toThrow('no key with id nonexistent');
  });
});
