import { describe, expect, it } from 'vitest';
import {
  ReplayGuard,
  SIGNATURE_HEADER,
  signRequest,
  TIMESTAMP_HEADER,
  verifyRequest,
} from '../src/crypto/request-signing.ts';

const secret = 'correct horse battery staple';
const body = new TextEncoder().encode('{"job_id":"a"}');
const now = 1_800_000_000_000;

async function signed(atMs = now, key = secret) {
  const headers = await signRequest(key, body, atMs);
  return { timestamp: headers[TIMESTAMP_HEADER], signature: headers[SIGNATURE_HEADER] };
}

describe('request signing', () => {
  it('accepts a request signed with the shared secret', async () => {
    const { timestamp, signature } = await signed();
    expect(await verifyRequest(secret, body, timestamp, signature, { nowMs: now })).toEqual({ ok: true });
  });

  it('signs with HMAC-SHA256 over "timestamp." + body', async () => {
    // Independent computation with node:crypto.
    const { createHmac } = await import('node:crypto');
    const { timestamp, signature } = await signed();
    const expected = createHmac('sha256', secret).update(`${timestamp}.`).update(body).digest('hex');
    expect(signature).toBe(`v1=${expected}`);
  });

  it('rejects a changed body', async () => {
    const { timestamp, signature } = await signed();
    const changed = new TextEncoder().encode('{"job_id":"b"}');
    expect(await verifyRequest(secret, changed, timestamp, signature, { nowMs: now })).toEqual({
      ok: false,
      reason: 'mismatch',
    });
  });

  it('rejects a wrong secret', async () => {
    const { timestamp, signature } = await signed(now, 'another secret');
    expect(await verifyRequest(secret, body, timestamp, signature, { nowMs: now })).toMatchObject({
      reason: 'mismatch',
    });
  });

  it('rejects a stale timestamp and a future one', async () => {
    const old = await signed(now - 301_000);
    expect(await verifyRequest(secret, body, old.timestamp, old.signature, { nowMs: now })).toMatchObject({
      reason: 'stale',
    });
    const future = await signed(now + 301_000);
    expect(
      await verifyRequest(secret, body, future.timestamp, future.signature, { nowMs: now }),
    ).toMatchObject({
      reason: 'future',
    });
    const edge = await signed(now - 299_000);
    expect(await verifyRequest(secret, body, edge.timestamp, edge.signature, { nowMs: now })).toEqual({
      ok: true,
    });
  });

  it('rejects a timestamp changed after signing', async () => {
    const { signature } = await signed();
    const moved = String(Math.floor(now / 1000) + 1);
    expect(await verifyRequest(secret, body, moved, signature, { nowMs: now })).toMatchObject({
      reason: 'mismatch',
    });
  });

  it('rejects missing and malformed headers', async () => {
    const { timestamp, signature } = await signed();
    expect(await verifyRequest(secret, body, null, signature)).toMatchObject({ reason: 'missing' });
    expect(await verifyRequest(secret, body, timestamp, undefined)).toMatchObject({ reason: 'missing' });
    expect(await verifyRequest(secret, body, 'yesterday', signature)).toMatchObject({ reason: 'malformed' });
    expect(await verifyRequest(secret, body, timestamp, 'v1=zz')).toMatchObject({ reason: 'malformed' });
  });

  it('rejects a replay inside the window and forgets signatures once they are stale', async () => {
    const guard = new ReplayGuard(300);
    const { timestamp, signature } = await signed();
    const options = { nowMs: now, replayGuard: guard };
    expect(await verifyRequest(secret, body, timestamp, signature, options)).toEqual({ ok: true });
    expect(await verifyRequest(secret, body, timestamp, signature, options)).toMatchObject({
      reason: 'replayed',
    });
    const later = await signed(now + 400_000);
    await verifyRequest(secret, body, later.timestamp, later.signature, {
      nowMs: now + 400_000,
      replayGuard: guard,
    });
    expect(guard.size).toBe(1);
  });
});
