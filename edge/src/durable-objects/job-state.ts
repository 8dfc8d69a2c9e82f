// One Durable Object per asynchronous job: its record and the only place its status changes, so
// a cancel racing the queue consumer resolves one way (a cancelled job never becomes succeeded).
// It also serves the job's event streams: progress the queue consumer relays from the gpu-worker,
// then the outcome. Records delete themselves a week after creation.
// In scale-out mode it also keeps the job's dispatch (jobs/dispatch-record.ts): the claim lease
// gpu-workers take on it, the first result, and the requests waiting for that result, for every
// job sent over the GPU queues (synchronous ones too, which have no record).

import { DurableObject } from 'cloudflare:workers';
import type { GpuResult } from '@latent-edge/shared/protocol/gpu-job';
import { edgeConfig } from '../config/edge-config.ts';
import {
  acceptsResult,
  type ClaimAnswer,
  claimDispatch,
  completeDispatch,
  DISPATCH_FINISHED,
  type DispatchError,
  type DispatchRecord,
  failDispatch,
  renewLease,
} from '../jobs/dispatch-record.ts';
import { JobEventHub, type JobStreamEvent } from '../jobs/job-event-hub.ts';
import {
  FINAL_EVENT,
  FINISHED,
  type JobProgress,
  type JobRecord,
  jobView,
  progressOf,
  type RelayedEvent,
} from '../jobs/job-record.ts';

const RETENTION_MS = 7 * 24 * 3600 * 1000;
/** A dispatch with no job record (a synchronous request's) is kept this long past its deadline. */
const DISPATCH_GRACE_MS = 10 * 60 * 1000;
/** How long one result may take to store before another attempt's may (a crashed route). */
const STORING_MS = 60_000;

/** How a dispatched job ended, for the request waiting on it. */
export type DispatchOutcome =
  | { status: 'done'; result: GpuResult }
  | { status: 'failed'; error: DispatchError }
  | { status: 'cancelled' }
  | { status: 'timeout' };

/** A request waiting for a dispatched job: how to tell it the end, and where its events go. */
interface DispatchWaiter {
  settle: (outcome: DispatchOutcome) => void;
  onEvent?: (event: RelayedEvent) => unknown;
  /** The events handed to onEvent so far, in order; the outcome follows the last of them. */
  relayed: Promise<unknown>;
}

function outcomeOf(record: DispatchRecord): DispatchOutcome | undefined {
  if (record.status === 'done' && record.result) return { status: 'done', result: record.result };
  if (record.status === 'failed')
    return {
      status: 'failed',
      error: record.error ?? { status: 502, code: 'gpu_failed', message: 'failed' },
    };
  if (record.status === 'cancelled') return { status: 'cancelled' };
  return undefined;
}

/** The event that says where a job is, from its record (a stream's first event, or a resume's). */
function progressEvent(progress: JobProgress): { event: string; data: unknown } {
  if (progress.queue_position !== null)
    return { event: 'queued', data: { position: progress.queue_position } };
  const { step, steps, elapsed_ms, eta_ms } = progress;
  return { event: 'progress', data: { step, steps, elapsed_ms, eta_ms } };
}

export class JobState extends DurableObject<Env> {
  private hub: JobEventHub | undefined;
  private readonly waiters = new Set<DispatchWaiter>();
  /** The result being stored, by its token: a second result meanwhile is a duplicate. */
  private storing?: { token: string; until: number };

  /** Event ids continue across evictions: the last one is stored with every event. */
  private async eventHub(): Promise<JobEventHub> {
    this.hub ??= new JobEventHub((await this.ctx.storage.get<number>('event_id')) ?? 0);
    return this.hub;
  }

  private async publish(event: string, data: unknown, final = false): Promise<void> {
    const hub = await this.eventHub();
    const { id } = hub.publish(event, data, final);
    await this.ctx.storage.put('event_id', id);
  }

  /** Publishes the end of the job to its streams when `record` is its final state. */
  private async publishEnd(record: JobRecord): Promise<void> {
    const event = FINAL_EVENT[record.status];
    if (event) await this.publish(event, jobView(record), true);
  }
  private async load(): Promise<JobRecord | undefined> {
    return this.ctx.storage.get<JobRecord>('job');
  }

  private async save(record: JobRecord, changes: Partial<JobRecord>): Promise<JobRecord> {
    const next = { ...record, ...changes, updated_at: new Date().toISOString() };
    await this.ctx.storage.put('job', next);
    return next;
  }

  async create(record: JobRecord): Promise<void> {
    if (await this.load()) throw new Error(`job ${record.id} exists`);
    await this.ctx.storage.put('job', record);
    await this.ctx.storage.setAlarm(Date.now() + RETENTION_MS);
  }

  async get(): Promise<JobRecord | null> {
    return (await this.load()) ?? null;
  }

  /** Marks the job running for a new attempt; null when there is nothing to run (gone, finished). */
  async start(): Promise<JobRecord | null> {
    const record = await this.load();
    if (!record || FINISHED.has(record.status)) return null;
    return this.save(record, { status: 'running', attempts: record.attempts + 1 });
  }

  /** A gpu-worker event the queue consumer relays: kept (except previews) and streamed. */
  async progress(event: RelayedEvent): Promise<void> {
    const record = await this.load();
    if (!record || FINISHED.has(record.status)) return;
    if (event.type !== 'preview') await this.save(record, { progress: progressOf(event) });
    const { type, ...data } = event;
    await this.publish(type, data);
  }

  /**
   * The job's event stream for GET /v1/jobs/:id/events (the route has checked the owner). Resumes
   * after `lastEventId` when the events since are still here; otherwise starts from where the job
   * is. A finished job's stream is its final event.
   */
  async stream(lastEventId?: number): Promise<ReadableStream<Uint8Array>> {
    const record = await this.load();
    const hub = await this.eventHub();
    const ended = !record || FINISHED.has(record.status);
    const snapshot = (): JobStreamEvent[] => {
      if (!record) return [];
      const id = hub.nextId - 1;
      const events: JobStreamEvent[] = [];
      if (record.progress && !ended) events.push({ id, ...progressEvent(record.progress) });
      const preview = hub.latest('preview');
      if (preview && !ended) events.push(preview);
      if (ended) events.push({ id, event: FINAL_EVENT[record.status], data: jobView(record) });
      return events;
    };
    return hub.open(lastEventId, snapshot, ended);
  }

  /** The latest preview frame while the job runs (A1111's GET /sdapi/v1/progress shows it). */
  async latestPreview(): Promise<{ image: string; step: number } | null> {
    const record = await this.load();
    if (!record || FINISHED.has(record.status)) return null;
    const preview = (await this.eventHub()).latest('preview');
    return (preview?.data as { image: string; step: number } | undefined) ?? null;
  }

  async setWorker(worker: string): Promise<void> {
    const record = await this.load();
    if (record && !FINISHED.has(record.status)) await this.save(record, { worker });
  }

  /** Back to the queue after a retryable failure (every gpu-worker busy or down). */
  async requeue(error: JobRecord['error']): Promise<void> {
    const record = await this.load();
    if (record && !FINISHED.has(record.status)) await this.save(record, { status: 'queued', error });
  }

  /** Records the outcome unless the job was cancelled meanwhile; returns the final record. */
  async finish(outcome: Pick<JobRecord, 'result'> | Pick<JobRecord, 'error'>): Promise<JobRecord | null> {
    const record = await this.load();
    if (!record) return null;
    if (FINISHED.has(record.status)) return record;
    const final =
      'result' in outcome
        ? await this.save(record, { status: 'succeeded', result: outcome.result, error: undefined })
        : await this.save(record, { status: 'failed', error: (outcome as Pick<JobRecord, 'error'>).error });
    await this.publishEnd(final);
    return final;
  }

  /** Cancels a queued or running job; returns the record before the change. */
  async cancel(): Promise<JobRecord | null> {
    const record = await this.load();
    if (!record || FINISHED.has(record.status)) return record ?? null;
    await this.publishEnd(await this.save(record, { status: 'cancelled' }));
    await this.cancelDispatch();
    return record;
  }

  async recordWebhook(outcome: { delivered: true } | { delivered: false; error: string }): Promise<void> {
    const record = await this.load();
    if (!record?.webhook) return;
    const webhook = { ...record.webhook, attempts: record.webhook.attempts + 1 };
    if (outcome.delivered) webhook.delivered_at = new Date().toISOString();
    else webhook.last_error = outcome.error;
    await this.save(record, { webhook });
  }

  override async alarm(): Promise<void> {
    const record = await this.load();
    const keepUntil = record ? Date.parse(record.created_at) + RETENTION_MS : 0;
    if (keepUntil > Date.now()) {
      await this.ctx.storage.setAlarm(keepUntil);
      return;
    }
    await this.ctx.storage.deleteAll();
  }

  // --- Dispatch over the GPU queues ---------------------------------------------------------

  private get leaseMs(): number {
    return edgeConfig(this.env).DISPATCH_LEASE_MS;
  }

  private async loadDispatch(): Promise<DispatchRecord | undefined> {
    return this.ctx.storage.get<DispatchRecord>('dispatch');
  }

  /** Tells the (model, tier) gauge where the job is now, for the autoscaling metrics. */
  private async gauge(record: DispatchRecord): Promise<void> {
    const state = DISPATCH_FINISHED.has(record.status)
      ? null
      : record.status === 'claimed'
        ? 'in_flight'
        : 'backlog';
    await this.env.DISPATCH_GAUGE.getByName(`${record.model}:${record.tier}`).set(
      record.job_id,
      state,
      record.deadline,
    );
  }

  /** Saves the dispatch and, when it has ended, tells the waiting requests. */
  private async saveDispatch(record: DispatchRecord): Promise<void> {
    await this.ctx.storage.put('dispatch', record);
    await this.gauge(record);
    const outcome = outcomeOf(record);
    if (!outcome) return;
    for (const waiter of this.waiters) waiter.settle(outcome);
    this.waiters.clear();
  }

  /** A new trip through the queues (a retried job starts afresh: old attempts' results are dropped). */
  async openDispatch(record: DispatchRecord): Promise<void> {
    this.storing = undefined;
    await this.ctx.storage.put('dispatch', record);
    await this.gauge(record);
    if (!(await this.load())) {
      const at = record.deadline + DISPATCH_GRACE_MS;
      const current = await this.ctx.storage.getAlarm();
      if (current === null || current < at) await this.ctx.storage.setAlarm(at);
    }
  }

  async dispatch(): Promise<DispatchRecord | null> {
    return (await this.loadDispatch()) ?? null;
  }

  async claimDispatch(worker: string): Promise<ClaimAnswer> {
    const { record, ...answer } = claimDispatch(
      await this.loadDispatch(),
      worker,
      crypto.randomUUID(),
      Date.now(),
      this.leaseMs,
    );
    if (record) await this.saveDispatch(record);
    return answer as ClaimAnswer;
  }

  /** A worker's batched progress: renews its lease, hands the events to the waiting requests. */
  async dispatchProgress(
    token: string,
    events: RelayedEvent[],
  ): Promise<{ held: false } | { held: true; cancel: boolean; expiresAt: number }> {
    const decision = renewLease(await this.loadDispatch(), token, Date.now(), this.leaseMs);
    if (!decision.held) return decision;
    if (!decision.cancel) {
      await this.ctx.storage.put('dispatch', decision.record);
      // Relayed in order but not awaited: the worker's answer (its lease, a cancel) never
      // waits on the waiting request's own listeners.
      for (const waiter of this.waiters) {
        const { onEvent } = waiter;
        if (!onEvent) continue;
        for (const event of events) {
          // A waiting request that went away drops its progress: it is best effort.
          waiter.relayed = waiter.relayed.then(() => onEvent(event)).catch(() => undefined);
        }
      }
    }
    return { held: true, cancel: decision.cancel, expiresAt: decision.expiresAt };
  }

  /**
   * Whether the result `token` brings is to be stored: the first from an attempt the edge
   * granted, and no other being stored now. The route stores it, then calls completeDispatch.
   */
  async beginResult(token: string): Promise<DispatchRecord | null> {
    const record = await this.loadDispatch();
    const now = Date.now();
    if (!acceptsResult(record, token)) return null;
    if (this.storing && this.storing.token !== token && this.storing.until > now) return null;
    this.storing = { token, until: now + STORING_MS };
    return record ?? null;
  }

  /** The stored result ends the job (false: another attempt's result won meanwhile). */
  async completeDispatch(token: string, result: GpuResult): Promise<boolean> {
    const record = await this.loadDispatch();
    if (!record || !acceptsResult(record, token) || this.storing?.token !== token) return false;
    this.storing = undefined;
    await this.saveDispatch(completeDispatch(record, result));
    return true;
  }

  /** Storing a result failed: another attempt (or this one, again) may post it. */
  async abandonResult(token: string): Promise<void> {
    if (this.storing?.token === token) this.storing = undefined;
  }

  async failDispatch(token: string, error: DispatchError, retryable: boolean): Promise<void> {
    const next = failDispatch(await this.loadDispatch(), token, error, retryable);
    if (next) await this.saveDispatch(next);
  }

  /** Its queue gave up on it (every delivery failed or lapsed): the job fails, saying so. */
  async deadLetter(): Promise<void> {
    const record = await this.loadDispatch();
    if (!record || DISPATCH_FINISHED.has(record.status)) return;
    const message =
      'no gpu-worker finished the job: its queue message used up its deliveries (dead-lettered)';
    await this.saveDispatch({
      ...record,
      status: 'failed',
      lease: undefined,
      error: { status: 503, code: 'gpu_unavailable', message },
    });
  }

  /** Ends a dispatch that has not ended: the worker holding it stops at its next progress post. */
  async cancelDispatch(): Promise<void> {
    const record = await this.loadDispatch();
    if (record && !DISPATCH_FINISHED.has(record.status)) {
      await this.saveDispatch({ ...record, status: 'cancelled', lease: undefined });
    }
  }

  /**
   * Waits for the dispatched job to end, at most `timeoutMs`; a timed-out job is cancelled (the
   * worker running it stops). `onEvent` hears its progress meanwhile.
   */
  async awaitDispatch(
    timeoutMs: number,
    onEvent?: (event: RelayedEvent) => unknown,
  ): Promise<DispatchOutcome> {
    const record = await this.loadDispatch();
    if (!record)
      return { status: 'failed', error: { status: 500, code: 'internal', message: 'no dispatch' } };
    const ended = outcomeOf(record);
    if (ended) return ended;
    return new Promise<DispatchOutcome>((resolve) => {
      const waiter: DispatchWaiter = {
        onEvent,
        relayed: Promise.resolve(),
        settle: (outcome) => {
          clearTimeout(timer);
          void waiter.relayed.then(() => resolve(outcome));
        },
      };
      const timer = setTimeout(() => {
        this.waiters.delete(waiter);
        resolve({ status: 'timeout' });
        void this.cancelDispatch();
      }, timeoutMs);
      this.waiters.add(waiter);
    });
  }
}
