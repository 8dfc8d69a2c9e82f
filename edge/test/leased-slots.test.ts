// Rate-limit slots leased to an isolate (src/rate-limit/leased-slots.ts) against the real
// RateLimiter Durable Object: a busy key needs few calls, a quiet one leases nothing, the limit
// holds across isolates, slots are never spent after their lease, and unspent ones come back.
import { env, runInDurableObject } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { LEASE_MS, type RateLimiter, type RatePolicy } from '../src/durable-objects/rate-limiter.ts';
import { CLOCK_MARGIN_MS, LeasedSlots, takeSlot } from '../src/rate-limit/leased-slots.ts';
import { call, createApiKey } from './support/api.ts';

const limiterName = () => `test:${crypto.randomUUID()}`;

/** The real namespace, counting the calls made through it. */
function countedLimiters() {
  const counter = { calls: 0 };
  const limiters = {
    getByName: (name: string) => {
      counter.calls++;
      return env.RATE_LIMITER.getByName(name);
    },
  } as unknown as DurableObjectNamespace<RateLimiter>;
  return { limiters, counter };
}

/** How many slots the object counts now (its own view, leased slots included). */
function countedAtObject(name: string): Promise<number> {
  return runInDurableObject(env.RATE_LIMITER.getByName(name), (_, state) =>
    state.storage.sql.exec<{ n: number }>('SELECT count(*) AS n FROM hits').one(),
  ).then((row) => row.n);
}

const wait = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('leased rate-limit slots', () => {
  it('answers most of a busy key’s requests without a call, with RateLimit-Remaining counting down by one', async () => {
    const { limiters, counter } = countedLimiters();
    const slots = new LeasedSlots();
    const name = limiterName();
    const policy: RatePolicy = { limit: 1000, windowSeconds: 60 };
    const remaining: number[] = [];
    for (let i = 0; i < 300; i++) {
      const decision = await takeSlot(limiters, name, policy, slots);
      expect(decision.allowed).toBe(true);
      remaining.push(decision.remaining);
    }
    expect(remaining).toEqual(Array.from({ length: 300 }, (_, i) => 999 - i));
    // Leases of 1, 2, 4, … 64 slots: about a dozen calls for 300 requests.
    expect(counter.calls).toBeLessThanOrEqual(20);
    // The object counts every slot spent, and the unspent rest of the last lease.
    const counted = await countedAtObject(name);
    expect(counted).toBeGreaterThanOrEqual(300);
    expect(counted).toBeLessThan(300 + 64);
  });

  it('leases nothing to a quiet key, and nothing to keys with limits under 8', async () => {
    const slots = new LeasedSlots();
    const { limiters, counter } = countedLimiters();
    const name = limiterName();
    await takeSlot(limiters, name, { limit: 1000, windowSeconds: 60 }, slots);
    expect(slots.request(name, { limit: 1000, windowSeconds: 60 }, Date.now() + LEASE_MS + 1)).toEqual({
      want: 0,
    });

    const small = limiterName();
    for (let i = 0; i < 7; i++) await takeSlot(limiters, small, { limit: 7, windowSeconds: 60 }, slots);
    expect(counter.calls).toBe(8);
    expect(await countedAtObject(small)).toBe(7);
  });

  it('never lets two isolates together exceed the limit', async () => {
    const { limiters } = countedLimiters();
    const isolates = [new LeasedSlots(), new LeasedSlots()];
    const name = limiterName();
    const policy: RatePolicy = { limit: 100, windowSeconds: 60 };
    let allowed = 0;
    for (let i = 0; i < 300; i++) {
      if ((await takeSlot(limiters, name, policy, isolates[i % 2])).allowed) allowed++;
    }
    expect(allowed).toBeLessThanOrEqual(100);
    // Refused early by at most what the other isolate holds unspent: one lease (an eighth of 100).
    expect(allowed).toBeGreaterThanOrEqual(100 - 12);
  });

  it('spends no slot once its lease has ended, and gives the unspent ones back with the next call', async () => {
    const slots = new LeasedSlots();
    const name = limiterName();
    const policy: RatePolicy = { limit: 80, windowSeconds: 60 };
    const stub = env.RATE_LIMITER.getByName(name);
    const calledAt = Date.now();
    const answer = await stub.lease(policy, { want: 8 });
    expect(answer.lease?.slots).toBe(8);
    slots.learn(name, policy, calledAt, answer);
    for (let i = 0; i < 3; i++) expect(slots.spend(name, policy, calledAt)?.allowed).toBe(true);
    expect(slots.spend(name, policy, calledAt + LEASE_MS)).toBeUndefined();
    expect(await countedAtObject(name)).toBe(9);

    // Just after the lease, the object may not see it ended yet: nothing goes back.
    expect(slots.request(name, policy, Date.now() + LEASE_MS).unspent).toBeUndefined();
    await wait(LEASE_MS + CLOCK_MARGIN_MS + 50);
    const next = slots.request(name, policy);
    expect(next.unspent).toEqual([{ slots: 5, until: answer.lease?.until }]);
    const after = await stub.lease(policy, next);
    // 1 + 8 counted, 5 given back, 1 more taken.
    expect(after).toMatchObject({ allowed: true, remaining: 80 - 5 });
    expect(await countedAtObject(name)).toBe(5);
  });

  it('stops spending a lease when the key’s limit changes', async () => {
    const slots = new LeasedSlots();
    const name = limiterName();
    const policy: RatePolicy = { limit: 800, windowSeconds: 60 };
    const calledAt = Date.now();
    slots.learn(name, policy, calledAt, await env.RATE_LIMITER.getByName(name).lease(policy, { want: 8 }));
    expect(slots.spend(name, policy, calledAt)).toBeDefined();
    expect(slots.spend(name, { ...policy, limit: 10 }, calledAt)).toBeUndefined();
  });

  it('keeps leased slots through a restart of the object and through its alarm', async () => {
    const name = limiterName();
    const policy: RatePolicy = { limit: 200, windowSeconds: 60 };
    const remaining = await runInDurableObject(env.RATE_LIMITER.getByName(name), async (instance, state) => {
      const Restarted = instance.constructor as typeof RateLimiter;
      const first = new Restarted(state, env);
      const leased = first.lease(policy, { want: 20 });
      const second = new Restarted(state, env);
      // A lease still running cannot be given back: ignored.
      second.lease(policy, { want: 0, unspent: [leased.lease ?? { slots: 0, until: 0 }] });
      await second.alarm();
      return { leased: leased.lease?.slots, afterAlarm: new Restarted(state, env).take(policy).remaining };
    });
    // 1 + 20 (an eighth of 200 is 25) + 1 + 1 counted.
    expect(remaining).toEqual({ leased: 20, afterAlarm: 200 - 23 });
  });

  it('spends leased slots through the Worker too: a busy key’s requests count down one by one', async () => {
    const { key } = await createApiKey({ rateLimit: { requests: 500, window_seconds: 60 } });
    const remaining: number[] = [];
    for (let i = 0; i < 40; i++) {
      const response = await call('/v1/models', { key });
      expect(response.status).toBe(200);
      await response.arrayBuffer();
      remaining.push(Number(response.headers.get('RateLimit-Remaining')));
    }
    expect(remaining).toEqual(Array.from({ length: 40 }, (_, i) => 499 - i));
  });
});
