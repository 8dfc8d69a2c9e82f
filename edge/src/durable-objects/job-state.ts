// One Durable Object per asynchronous job: its record and the only place its status changes, so
// a cancel racing the queue consumer resolves one way (a cancelled job never becomes succeeded).
// It also serves the job's event streams: progress the queue consumer relays from the gpu-worker,
// then the outcome. Records delete themselves a week after creation.
import { DurableObject } from 'cloudflare:workers';
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

/** The event that says where a job is, from its record (a stream's first event, or a resume's). */
function progressEvent(progress: JobProgress): { event: string; data: unknown } {
  if (progress.queue_position !== null)
    return { event: 'queued', data: { position: progress.queue_position } };
  const { step, steps, elapsed_ms, eta_ms } = progress;
  return { event: 'progress', data: { step, steps, elapsed_ms, eta_ms } };
}

export class JobState extends DurableObject<Env> {
  private hub: JobEventHub | undefined;

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
    await this.ctx.storage.deleteAll();
  }
}
