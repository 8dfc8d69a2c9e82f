// One Durable Object per API key for the AUTOMATIC1111-compatible routes, which (like the A1111 web
// UI, one user and one job at a time) keep state between requests: the checkpoint POST
// /sdapi/v1/options chose, and the key's latest txt2img or img2img job, which GET /sdapi/v1/progress reports
// and POST /sdapi/v1/interrupt stops. The job's own record and previews stay in its JobState.
import { DurableObject } from 'cloudflare:workers';

export interface A1111Job {
  id: string;
  /** What /progress calls it, as A1111 names its tasks. */
  kind: 'txt2img' | 'img2img';
  /** Date.now() when the request started it. */
  started_at: number;
  /** A1111's `job_timestamp`: yyyymmddhhmmss. */
  timestamp: string;
  /** Set by POST /interrupt or /skip while it ran. */
  stopped?: 'interrupted' | 'skipped';
}

export class A1111Session extends DurableObject<Env> {
  /** The model id POST /sdapi/v1/options set; null: the default model. */
  async checkpoint(): Promise<string | null> {
    return (await this.ctx.storage.get<string>('checkpoint')) ?? null;
  }

  async setCheckpoint(model: string): Promise<void> {
    await this.ctx.storage.put('checkpoint', model);
  }

  /** A txt2img request started a job: it is now the one /progress reports. */
  async begin(job: A1111Job): Promise<void> {
    await this.ctx.storage.put('job', job);
  }

  /** The request of `jobId` has answered; a newer job's entry is left alone. */
  async end(jobId: string): Promise<void> {
    if ((await this.current())?.id === jobId) await this.ctx.storage.delete('job');
  }

  async current(): Promise<A1111Job | null> {
    return (await this.ctx.storage.get<A1111Job>('job')) ?? null;
  }

  /** Marks the current job stopped; returns it (null when none runs). */
  async stop(how: 'interrupted' | 'skipped'): Promise<A1111Job | null> {
    const job = await this.current();
    if (!job) return null;
    const stopped = { ...job, stopped: job.stopped ?? how };
    await this.ctx.storage.put('job', stopped);
    return stopped;
  }
}
