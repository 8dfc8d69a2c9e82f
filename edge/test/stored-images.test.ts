// The result cache's memory of what is in R2 (the real local bucket): an object seen there is
// remembered for REMEMBER_MS, so an identical request needs no HEAD; one not found is asked for
// again every time; the memory is bounded.
import { env } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { isStored, MAX_REMEMBERED, REMEMBER_MS, rememberStored } from '../src/generation/stored-images.ts';

const objectName = () => `${crypto.randomUUID().replaceAll('-', '')}.png`;

describe('stored images in isolate memory', () => {
  it('asks R2 again for an object it did not find', async () => {
    const name = objectName();
    expect(await isStored(env.IMAGES, name)).toBe(false);
    await env.IMAGES.put(name, new Uint8Array([1]));
    expect(await isStored(env.IMAGES, name)).toBe(true);
  });

  it(`remembers an object found in R2 for ${REMEMBER_MS / 60_000} minutes, then asks again`, async () => {
    const name = objectName();
    await env.IMAGES.put(name, new Uint8Array([1]));
    const seenAt = Date.now();
    expect(await isStored(env.IMAGES, name, seenAt)).toBe(true);
    // Deleted behind the Worker's back: still remembered, until the memory is too old to trust.
    await env.IMAGES.delete(name);
    expect(await isStored(env.IMAGES, name, seenAt + REMEMBER_MS - 1)).toBe(true);
    expect(await isStored(env.IMAGES, name, seenAt + REMEMBER_MS)).toBe(false);
    expect(await isStored(env.IMAGES, name, seenAt)).toBe(false);
  });

  it('remembers what it wrote itself, and forgets the oldest name once full', async () => {
    const names = Array.from({ length: MAX_REMEMBERED + 1 }, objectName);
    for (const name of names) rememberStored(name);
    // None of these is in R2: only the memory can say yes.
    expect(await isStored(env.IMAGES, names[0])).toBe(false);
    expect(await isStored(env.IMAGES, names[1])).toBe(true);
    expect(await isStored(env.IMAGES, names[MAX_REMEMBERED])).toBe(true);
  });
});
