// One Durable Object per asynchronous job: its record and the only place its status changes, so
// a cancel racing the queue consumer resolves one way (a cancelled job never becomes succeeded).
// Records delete themselves a week after creation.
import { DurableObject } from 'cloudflare:workers';
import { FINISHED, type JobRecord } from '../jobs/job-record.ts';

const RETENTION_MS = 7 * 24 * 3600 * 1000;

export class JobState extends DurableObject<Env> {
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
    return 'result' in outcome
      ? this.save(record, { status: 'succeeded', result: outcome.result, error: undefined })
      : this.save(record, { status: 'failed', error: (outcome as Pick<JobRecord, 'error'>).error });
  }

  /** Cancels a queued or running job; returns the record before the change. */
  async cancel(): Promise<JobRecord | null> {
    const record = await this.load();
    if (!record || FINISHED.has(record.status)) return record ?? null;
    await this.save(record, { status: 'cancelled' });
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
