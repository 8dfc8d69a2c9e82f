// A busy key's slots, taken from its RateLimiter a few at a time and spent in this isolate
// without a call. Each call to the Durable Object cost about 0.6 ms of workerd CPU locally
// (test/bench/edge.ts); in production it is a round trip to wherever the object lives, often
// longer than answering a cached image, and a billed request.
//
// The limit still holds exactly: leased slots are counted by the object at once, dated the end
// of their lease, and spent here only before it ends (by this isolate's clock, from before the
// call, less a margin), so no slot is ever used twice or after the time it is counted for. What
// leasing gives up is only on the other side: slots leased to one isolate and not yet spent are
// not available to another, so a key busy in several places at its limit may be refused a
// little early. Slots left when a lease ends go back with the key's next call once the object
// sees the lease as ended too (its clock decides; slots given back sooner are ignored). Leases start
// small and double while they are used up within their time (reservationCap: at most 64, and an
// eighth of the limit, so keys with limits under 8 never lease); a key with no call in the last
// lease period asks for none, so an occasional request leaves nothing behind.
//
// Only numbers are shared between requests here, never a promise or an I/O object: Workers
// allows neither to cross from one request to another safely.
import {
  LEASE_MS,
  type LeaseRequest,
  type RateDecision,
  type RateLimiter,
  type RatePolicy,
  reservationCap,
  type SlotLease,
} from '../durable-objects/rate-limiter.ts';
import { TimedMemory } from '../memory/timed-memory.ts';

/** Taken off a lease's time: Date.now() in a Worker stands still while it computes. */
export const CLOCK_MARGIN_MS = 100;
/** Keys with leases held per isolate: the oldest goes first, its slots counted until they expire. */
export const MAX_KEYS = 1000;

interface Block {
  /** Its slots' date at the Durable Object, which names them when they go back. */
  until: number;
  /** The last moment (this isolate's clock) a slot may be spent. */
  spendBy: number;
  /** When the object will surely see the lease as ended (it ignores slots given back sooner). */
  returnAfter: number;
  size: number;
  left: number;
}

type Unspent = SlotLease & { returnAfter: number };

interface KeySlots {
  policy: string;
  /** Soonest to end first. */
  blocks: Block[];
  /** Remaining at the object after its last answer here (leased slots excluded). */
  remaining: number;
  lastCallAt: number;
  /** Slots spent from the last block to finish: the next lease asks for twice as many. */
  lastSpent: number;
  /** Ended blocks' unspent slots, to give back once the object sees them ended. */
  unspent: Unspent[];
}

const policyId = ({ limit, windowSeconds }: RatePolicy) => `${limit}/${windowSeconds}`;

/** A key's state lives as long as the isolate keeps it (within MAX_KEYS): it never goes stale. */
const FOREVER = Number.POSITIVE_INFINITY;

export class LeasedSlots {
  private readonly keys: TimedMemory<KeySlots>;

  constructor(capacity = MAX_KEYS) {
    this.keys = new TimedMemory(capacity);
  }

  /** A decision from a leased slot of `name`'s, or undefined when its limiter must be asked. */
  spend(name: string, policy: RatePolicy, now = Date.now()): RateDecision | undefined {
    const state = this.keys.recall(name, FOREVER);
    if (!state || state.policy !== policyId(policy) || (policy.cost ?? 1) !== 1) return undefined;
    this.retire(state, now);
    const block = state.blocks[0];
    if (!block) return undefined;
    block.left--;
    if (block.left === 0) {
      state.blocks.shift();
      state.lastSpent = block.size;
    }
    const remaining = state.remaining + state.blocks.reduce((sum, b) => sum + b.left, 0);
    return {
      allowed: true,
      limit: policy.limit,
      remaining,
      // When the last slot is spent, when one frees is the object's to know: at most a window.
      resetSeconds: remaining > 0 ? 0 : policy.windowSeconds,
      retryAfterSeconds: 0,
    };
  }

  /** What the next call for `name` asks for: extra slots when it is busy, and slots to give back. */
  request(name: string, policy: RatePolicy, now = Date.now()): LeaseRequest {
    const state = this.keys.recall(name, FOREVER);
    if (!state) return { want: 0 };
    this.retire(state, now);
    const unspent = state.unspent
      .filter((u) => u.returnAfter <= now)
      .map(({ slots, until }) => ({ slots, until }));
    state.unspent = state.unspent.filter((u) => u.returnAfter > now);
    const busy = state.policy === policyId(policy) && now - state.lastCallAt <= LEASE_MS;
    const want = busy ? Math.min(reservationCap(policy.limit), Math.max(1, 2 * state.lastSpent)) : 0;
    return unspent.length > 0 ? { want, unspent } : { want };
  }

  /** The limiter's answer to a call made at `calledAt` and answered at `answeredAt`, with the slots it leased. */
  learn(
    name: string,
    policy: RatePolicy,
    calledAt: number,
    answer: RateDecision & { lease?: SlotLease },
    answeredAt = Date.now(),
  ): void {
    let state = this.keys.recall(name, FOREVER);
    if (state && state.policy !== policyId(policy)) {
      // The key's limit changed: its blocks are spent no more, and go back once they end.
      for (const block of state.blocks) state.unspent.push(unspentOf(block));
      state.blocks = [];
      state.policy = policyId(policy);
    }
    if (!state) {
      state = {
        policy: policyId(policy),
        blocks: [],
        remaining: 0,
        lastCallAt: 0,
        lastSpent: 0,
        unspent: [],
      };
      this.keys.learn(name, state);
    }
    const lease = answer.lease;
    state.lastCallAt = calledAt;
    state.remaining = answer.remaining - (lease?.slots ?? 0);
    if (!lease || lease.slots <= 0) return;
    state.blocks.push({
      until: lease.until,
      spendBy: calledAt + LEASE_MS - CLOCK_MARGIN_MS,
      returnAfter: answeredAt + LEASE_MS + CLOCK_MARGIN_MS,
      size: lease.slots,
      left: lease.slots,
    });
    state.blocks.sort((a, b) => a.spendBy - b.spendBy);
  }

  /** Moves the blocks whose time is up to the slots to give back. */
  private retire(state: KeySlots, now: number): void {
    while (state.blocks.length > 0 && state.blocks[0].spendBy < now) {
      const block = state.blocks.shift() as Block;
      state.lastSpent = block.size - block.left;
      if (block.left > 0) state.unspent.push(unspentOf(block));
    }
  }
}

function unspentOf(block: Block): Unspent {
  return { slots: block.left, until: block.until, returnAfter: block.returnAfter };
}

const isolateSlots = new LeasedSlots();

/**
 * One request's slot of `name`'s limit: from a lease held here when there is one, else from the
 * RateLimiter, which may lease more with it.
 */
export async function takeSlot(
  limiters: DurableObjectNamespace<RateLimiter>,
  name: string,
  policy: RatePolicy,
  slots = isolateSlots,
): Promise<RateDecision> {
  const leased = slots.spend(name, policy);
  if (leased) return leased;
  const calledAt = Date.now();
  const answer = await limiters.getByName(name).lease(policy, slots.request(name, policy, calledAt));
  slots.learn(name, policy, calledAt, answer);
  return answer;
}
