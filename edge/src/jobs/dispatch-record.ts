// A job's trip through the GPU queues (scale-out mode), as its JobState keeps it: queued until a
// gpu-worker claims it, then leased to that worker while its progress keeps the lease alive.
// Queues deliver at least once, so the same job can reach two workers (a redelivery after a
// visibility timeout, a worker that died, a duplicate): only the live lease's holder may run it;
// a result from any attempt the edge granted is kept if it is the first, and every later one is
// dropped. Pure functions of the record and the clock: JobState stores what they return.
import type { ClaimRefusal, Tier } from '@latent-edge/shared/protocol/dispatch';
import type { GpuResult } from '@latent-edge/shared/protocol/gpu-job';
import type { StorePlan } from '../generation/store-results.ts';

/**
 * A lease lapses this long after the claim or the latest progress post (workers post twice a
 * second), unless DISPATCH_LEASE_MS says otherwise: how soon a dead worker's job may be taken over.
 */
export const LEASE_MS = 15_000;

export type DispatchStatus = 'queued' | 'claimed' | 'done' | 'failed' | 'cancelled';

export interface DispatchError {
  status: number;
  code: string;
  message: string;
  /** The job field the worker blamed (an init image it could not decode). */
  field?: string;
}

export interface DispatchRecord {
  job_id: string;
  model: string;
  revision: string;
  tier: Tier;
  /** ms since the epoch: past it, claims are refused and a waiting request gives up. */
  deadline: number;
  enqueued_at: number;
  status: DispatchStatus;
  /** Claims granted so far (redeliveries that found the lease lapsed included). */
  claims: number;
  lease?: { token: string; worker: string; expires_at: number };
  /** Every token granted: a result from any of them may be the first. */
  tokens: string[];
  /** How the result route stores what the worker posts. */
  plan: StorePlan;
  result?: GpuResult;
  error?: DispatchError;
  /** When the first claim came: the queue wait. */
  claimed_at?: number;
}

export const DISPATCH_FINISHED: ReadonlySet<DispatchStatus> = new Set(['done', 'failed', 'cancelled']);

/** What a claiming worker is told: its token and lease, or why not. */
export type ClaimAnswer =
  | { granted: true; token: string; expiresAt: number }
  | { granted: false; reason: ClaimRefusal; retryAfterMs?: number };

/** The answer, and the record to store when the claim changed it. */
export type ClaimDecision = ClaimAnswer & { record?: DispatchRecord };

export function claimDispatch(
  record: DispatchRecord | undefined,
  worker: string,
  token: string,
  now: number,
  leaseMs = LEASE_MS,
): ClaimDecision {
  if (!record) return { granted: false, reason: 'unknown' };
  if (record.status === 'done' || record.status === 'failed') return { granted: false, reason: 'finished' };
  if (record.status === 'cancelled') return { granted: false, reason: 'cancelled' };
  if (now >= record.deadline) {
    const expired: DispatchRecord = {
      ...record,
      status: 'failed',
      lease: undefined,
      error: { status: 504, code: 'gpu_timeout', message: 'no gpu-worker finished the job by its deadline' },
    };
    return { granted: false, reason: 'expired', record: expired };
  }
  if (record.status === 'claimed' && record.lease && record.lease.expires_at > now) {
    return { granted: false, reason: 'claimed', retryAfterMs: record.lease.expires_at - now };
  }
  const expiresAt = now + leaseMs;
  return {
    granted: true,
    token,
    expiresAt,
    record: {
      ...record,
      status: 'claimed',
      claims: record.claims + 1,
      lease: { token, worker, expires_at: expiresAt },
      tokens: [...record.tokens, token],
      claimed_at: record.claimed_at ?? now,
    },
  };
}

export type RenewDecision =
  | { held: true; record: DispatchRecord; cancel: boolean; expiresAt: number }
  | { held: false };

/**
 * A progress post from `token`'s holder renews its lease. The holder learns of a cancel (or of
 * another attempt's result having won) in the answer, and stops.
 */
export function renewLease(
  record: DispatchRecord | undefined,
  token: string,
  now: number,
  leaseMs = LEASE_MS,
): RenewDecision {
  if (!record || !record.tokens.includes(token)) return { held: false };
  if (DISPATCH_FINISHED.has(record.status)) return { held: true, record, cancel: true, expiresAt: now };
  if (record.lease?.token !== token) return { held: false };
  const expiresAt = now + leaseMs;
  return {
    held: true,
    cancel: false,
    expiresAt,
    record: { ...record, lease: { ...record.lease, expires_at: expiresAt } },
  };
}

/** Whether a result from `token` is the job's: the first from any attempt the edge granted. */
export function acceptsResult(record: DispatchRecord | undefined, token: string): boolean {
  return !!record && !DISPATCH_FINISHED.has(record.status) && record.tokens.includes(token);
}

export function completeDispatch(record: DispatchRecord, result: GpuResult): DispatchRecord {
  return { ...record, status: 'done', lease: undefined, result };
}

/**
 * A failure from the live lease's holder: a retryable one puts the job back in the queue's hands
 * (the worker retries the message), a final one fails it. Reports from other attempts change
 * nothing: the live holder may still succeed.
 */
export function failDispatch(
  record: DispatchRecord | undefined,
  token: string,
  error: DispatchError,
  retryable: boolean,
): DispatchRecord | undefined {
  if (!record || DISPATCH_FINISHED.has(record.status) || record.lease?.token !== token) return undefined;
  return retryable
    ? { ...record, status: 'queued', lease: undefined, error }
    : { ...record, status: 'failed', lease: undefined, error };
}
