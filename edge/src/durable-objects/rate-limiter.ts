// Exact per-key rate limiting: one Durable Object per API key (named by the key's hash) keeps a
// sliding-window log of its requests. A Durable Object is single-threaded and strongly
// consistent, so two concurrent requests can never both take the last slot (SD-NOTES §6.5),
// unlike the Workers Rate Limiting binding, which counts per location and syncs late (§6.6).
//
// Decisions are made from a log in memory; `take` never awaits, so requests are decided strictly
// one after another. The log also lives in SQLite, so that an object restarted for any reason
// (evicted, redeployed, moved) goes on counting, and that copy may over-count but never
// under-count: no restart can hand out a slot twice. The rule that makes this cheap: a slot
// dated at or after the request that used it is safe to count, since it leaves the window no
// earlier than the request.
//
// Writing a row per request would make every answer wait for a commit, because the runtime's
// output gate holds an object's replies until the writes made before them are durable (Cloudflare,
// "Durable Objects: Easy, Fast, Correct — Choose three", 2021). Instead a request that finds no
// reservation writes several rows ahead, dated the end of a short lease, and the requests that
// follow within the lease spend them and write nothing; while the reservation is still being
// committed, the output gate holds their replies too. A reservation doubles while requests use
// it up and shrinks when they don't. When the last lease ends, an alarm rewrites the stored log
// from memory, exact again. Only a crash within a lease leaves unspent rows behind, which count
// as requests until they leave the window: at most one reservation (MAX_RESERVATION, and an
// eighth of the limit).
//
// The same rule lets a caller take slots away to spend on its own (`lease`): they are counted
// here at once, dated the end of their lease, and a caller gives back what it did not spend
// (`unspent`) with its next call. The edge's isolates do so for busy keys
// (rate-limit/leased-slots.ts), so that most of a busy key's requests need no call at all.
import { DurableObject } from 'cloudflare:workers';

export interface RatePolicy {
  limit: number;
  windowSeconds: number;
  /** Slots this request takes. */
  cost?: number;
}

export interface RateDecision {
  allowed: boolean;
  limit: number;
  /** Slots left in the window after this request; a lease's slots count as left (the caller's to spend). */
  remaining: number;
  /** Seconds until a slot frees up (0 when one is free now). */
  resetSeconds: number;
  /** When refused: seconds until this request would be allowed. */
  retryAfterSeconds: number;
}

/** Slots handed to a caller to spend until `until` (ms since the epoch), counted as used then. */
export interface SlotLease {
  slots: number;
  until: number;
}

export interface LeaseRequest {
  /** Extra slots wanted beside the request's own, when it is allowed. */
  want: number;
  /** Slots of earlier leases that were not spent, given back. */
  unspent?: SlotLease[];
}

/** How long a reservation or lease may be spent, and how long the stored log may differ from memory. */
export const LEASE_MS = 1_000;
/** The most rows one reservation writes ahead, and the most slots one lease hands out. */
export const MAX_RESERVATION = 64;

/** The largest reservation or lease for a limit: an eighth of it, so a crash or an idle lease holds back little. */
export function reservationCap(limit: number): number {
  return Math.min(MAX_RESERVATION, Math.floor(limit / 8));
}

interface Reservation {
  /** The date of its rows: the last moment a request may spend one. */
  until: number;
  left: number;
  spent: number;
}

export class RateLimiter extends DurableObject<Env> {
  /** Times (ms) of the slots counted, ascending; leased and reloaded slots may be in the future. */
  private readonly hits: number[];
  /** Stored rows dated at or after this may differ from memory until the alarm; older ones match. */
  private reconciledAt: number;
  private reservation: Reservation = { until: 0, left: 0, spent: 0 };
  /** The window of the last policy seen, kept for the alarm's clean-up. */
  private windowMs: number | undefined;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    const sql = ctx.storage.sql;
    sql.exec('CREATE TABLE IF NOT EXISTS hits (at INTEGER NOT NULL)');
    sql.exec('CREATE INDEX IF NOT EXISTS hits_by_time ON hits (at)');
    // The first version kept the whole log as one key-value entry: carried over once.
    const legacy = ctx.storage.kv.get<number[]>('hits');
    if (legacy) {
      for (const at of legacy) sql.exec('INSERT INTO hits (at) VALUES (?)', at);
      ctx.storage.kv.delete('hits');
    }
    // Rows dated in the future (a previous run's reservations and leases) are kept as they are:
    // a lease may still be spent, and an unspent reservation only over-counts for a moment.
    this.reconciledAt = Date.now();
    this.windowMs = ctx.storage.kv.get<number>('window_ms');
    this.hits = sql
      .exec<{ at: number }>('SELECT at FROM hits ORDER BY at')
      .toArray()
      .map((row) => row.at);
  }

  take(policy: RatePolicy): RateDecision {
    return this.decide(policy, Date.now());
  }

  /**
   * Decides this request and, when it is allowed, hands out up to `want` more slots (within the
   * free ones and reservationCap) for the caller to spend by the lease's end. `unspent` slots of
   * earlier leases are given back first.
   */
  lease(policy: RatePolicy, { want, unspent = [] }: LeaseRequest): RateDecision & { lease?: SlotLease } {
    const now = Date.now();
    for (const returned of unspent) this.giveBack(returned, now);
    const decision = this.decide(policy, now);
    const slots = Math.min(Math.floor(want) || 0, reservationCap(policy.limit), decision.remaining);
    if (!decision.allowed || slots <= 0) return decision;
    const until = now + LEASE_MS;
    for (let i = 0; i < slots; i++) this.count(until);
    this.writeAhead(until, slots);
    return { ...decision, lease: { slots, until } };
  }

  /** Rewrites the stored log from memory (exact but for leased slots), and drops what left the window. */
  override async alarm(): Promise<void> {
    const now = Date.now();
    const sql = this.ctx.storage.sql;
    if (this.windowMs !== undefined) this.forgetUntil(now - this.windowMs);
    sql.exec('DELETE FROM hits WHERE at >= ?', this.reconciledAt);
    if (this.windowMs !== undefined) sql.exec('DELETE FROM hits WHERE at <= ?', now - this.windowMs);
    for (let i = this.firstAtOrAfter(this.reconciledAt); i < this.hits.length; i++) {
      sql.exec('INSERT INTO hits (at) VALUES (?)', this.hits[i]);
    }
    this.reconciledAt = now;
    // Its rows are gone: whatever it had left cannot be spent.
    this.reservation = { until: 0, left: 0, spent: 0 };
  }

  private decide({ limit, windowSeconds, cost = 1 }: RatePolicy, now: number): RateDecision {
    const windowMs = windowSeconds * 1000;
    this.forgetUntil(now - windowMs);
    const hits = this.hits;
    const secondsUntil = (t: number) => Math.max(1, Math.ceil((t - now) / 1000));

    if (hits.length + cost > limit) {
      // The request fits once enough of the oldest hits have left the window.
      const mustExpire = hits.length + cost - limit;
      const freeAt = cost > limit ? now + windowMs : hits[mustExpire - 1] + windowMs;
      return {
        allowed: false,
        limit,
        remaining: Math.max(0, limit - hits.length),
        resetSeconds: hits.length > 0 ? secondsUntil(hits[0] + windowMs) : 0,
        retryAfterSeconds: secondsUntil(freeAt),
      };
    }
    if (this.reservation.left < cost || now > this.reservation.until) {
      this.reserve(now, windowMs, cost, limit);
    }
    this.reservation.left -= cost;
    this.reservation.spent += cost;
    for (let i = 0; i < cost; i++) this.count(now);
    const remaining = limit - hits.length;
    return {
      allowed: true,
      limit,
      remaining,
      resetSeconds: remaining > 0 ? 0 : secondsUntil(hits[0] + windowMs),
      retryAfterSeconds: 0,
    };
  }

  /**
   * Writes rows ahead for this request and the ones after it: twice what the last reservation
   * had spent, within the slots still free and reservationCap.
   */
  private reserve(now: number, windowMs: number, cost: number, limit: number): void {
    const free = limit - this.hits.length;
    const size = Math.min(free, Math.max(cost, Math.min(reservationCap(limit), 2 * this.reservation.spent)));
    const until = now + LEASE_MS;
    this.writeAhead(until, size);
    if (windowMs !== this.windowMs) {
      this.windowMs = windowMs;
      this.ctx.storage.kv.put('window_ms', windowMs);
    }
    this.reservation = { until, left: size, spent: 0 };
  }

  /** Unspent leased slots, counted at `until`: no longer counted, in memory or storage. */
  private giveBack({ slots, until }: SlotLease, now: number): void {
    // A lease still running cannot be known unspent; only ended ones come back.
    if (until > now || !Number.isInteger(slots) || slots <= 0) return;
    let removed = 0;
    for (let i = this.firstAtOrAfter(until); removed < slots && this.hits[i] === until; removed++) {
      this.hits.splice(i, 1);
    }
    if (removed === 0) return;
    this.ctx.storage.sql.exec(
      'DELETE FROM hits WHERE rowid IN (SELECT rowid FROM hits WHERE at = ? LIMIT ?)',
      until,
      removed,
    );
  }

  /** Stores `rows` slots dated `until`, and has the alarm make the log exact once that time has come. */
  private writeAhead(until: number, rows: number): void {
    for (let i = 0; i < rows; i++) this.ctx.storage.sql.exec('INSERT INTO hits (at) VALUES (?)', until);
    // Every lease ends within LEASE_MS, so the latest one set is the last to end.
    void this.ctx.storage.setAlarm(until);
  }

  /** Counts a slot at `at`, keeping the log in order. */
  private count(at: number): void {
    const hits = this.hits;
    if (hits.length === 0 || hits[hits.length - 1] <= at) hits.push(at);
    // Times are whole milliseconds: the first entry after `at` is the first at or after at + 1.
    else hits.splice(this.firstAtOrAfter(at + 1), 0, at);
  }

  private firstAtOrAfter(at: number): number {
    let low = 0;
    let high = this.hits.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (this.hits[middle] < at) low = middle + 1;
      else high = middle;
    }
    return low;
  }

  /** Drops the hits at or before `cutoff`, which have left the window, from memory. */
  private forgetUntil(cutoff: number): void {
    let expired = 0;
    while (expired < this.hits.length && this.hits[expired] <= cutoff) expired++;
    if (expired > 0) this.hits.splice(0, expired);
  }
}
