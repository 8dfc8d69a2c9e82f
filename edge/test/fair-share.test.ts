// FairShare (scale-out mode): at most `cap` of one key's jobs in the GPU queues at once, the rest
// waiting first come first served; a grant whose request died frees its slot at its deadline.
import { env, runDurableObjectAlarm, runInDurableObject } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';

const fairShareStub = () => env.FAIR_SHARE.getByName(`test:${crypto.randomUUID()}`);
const FAR = () => Date.now() + 600_000;

describe('fair share', () => {
  it('holds jobs over the cap until the key releases one, first come first served', async () => {
    const stub = fairShareStub();
    expect(await stub.acquire('a', 2, FAR())).toBe(true);
    expect(await stub.acquire('b', 2, FAR())).toBe(true);
    const order: string[] = [];
    const c = stub.acquire('c', 2, FAR()).then((granted) => order.push(`c:${granted}`));
    const d = stub.acquire('d', 2, FAR()).then((granted) => order.push(`d:${granted}`));
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(await stub.counts()).toEqual({ in_flight: 2, waiting: 2 });
    await stub.release('a');
    await c;
    expect(order).toEqual(['c:true']);
    await stub.release('b');
    await d;
    expect(order).toEqual(['c:true', 'd:true']);
  });

  it("hands a dead request's slot to the next waiter when the grant's deadline passes", async () => {
    const stub = fairShareStub();
    // A request that took its slot and died: nobody will release it.
    expect(await stub.acquire('dead', 1, Date.now() + 300)).toBe(true);
    let granted: boolean | undefined;
    const waiter = stub.acquire('next', 1, FAR()).then((g) => {
      granted = g;
    });
    const alarmAt = await runInDurableObject(stub, (_, state) => state.storage.getAlarm());
    expect(alarmAt).not.toBeNull();
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, (alarmAt as number) - Date.now() + 20)));
    await runDurableObjectAlarm(stub);
    await waiter;
    expect(granted).toBe(true);
    expect(await stub.counts()).toEqual({ in_flight: 1, waiting: 0 });
  });

  it('gives up on a waiter at its own deadline', async () => {
    const stub = fairShareStub();
    expect(await stub.acquire('a', 1, FAR())).toBe(true);
    expect(await stub.acquire('late', 1, Date.now() + 100)).toBe(false);
    expect(await stub.counts()).toEqual({ in_flight: 1, waiting: 0 });
  });
});
