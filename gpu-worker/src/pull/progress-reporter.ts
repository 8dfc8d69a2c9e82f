// Posts a pulled job's progress to the edge about twice a second while it runs: the latest step,
// the latest preview and queue positions since the last post (progress-batch.ts). A quiet job (a
// long wait in the queue) still posts before half its claim's remaining lease has gone, since
// progress is what renews the lease. The edge's answer can stop the job: `cancel` (the user
// cancelled) or 409 lease_lost (another attempt holds the job now). A post that fails is logged
// and the next one carries the events; the job does not stop for it.
import type { Job } from '../service/job.ts';
import type { EdgeClient } from './edge-client.ts';
import { ProgressBatch } from './progress-batch.ts';

export const PROGRESS_INTERVAL_MS = 500;

export type StopReason = 'cancelled' | 'lease-lost';

export interface ProgressReporterOptions {
  edge: EdgeClient;
  job: Job;
  token: string;
  /** When the claim lapses (ms since the epoch), from the claim's answer. */
  expiresAt: number;
  /** The edge asked the job to stop. */
  onStop: (reason: StopReason) => void;
  log: (message: string) => void;
  intervalMs?: number;
}

export class ProgressReporter {
  private readonly batch = new ProgressBatch();
  private readonly unsubscribe: () => void;
  private timer?: ReturnType<typeof setTimeout>;
  private posting: Promise<void> = Promise.resolve();
  private stopped = false;
  private lastPostAt = Date.now();
  private expiresAt: number;

  constructor(private readonly options: ProgressReporterOptions) {
    this.expiresAt = options.expiresAt;
    this.unsubscribe = options.job.subscribe((event) => this.batch.add(event));
    this.schedule();
  }

  /** Stops posting and waits for a post in flight, so no progress trails the result. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    this.unsubscribe();
    await this.posting;
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.posting = this.tick().finally(() => this.schedule());
    }, this.options.intervalMs ?? PROGRESS_INTERVAL_MS);
  }

  private renewalDue(now: number): boolean {
    return Number.isFinite(this.expiresAt) && now >= this.lastPostAt + (this.expiresAt - this.lastPostAt) / 2;
  }

  private async tick(): Promise<void> {
    const now = Date.now();
    if (this.stopped || (this.batch.empty && !this.renewalDue(now))) return;
    const { edge, job, token, onStop, log } = this.options;
    this.lastPostAt = now;
    try {
      const answer = await edge.progress({ job_id: job.id, token, events: this.batch.take() });
      if (this.stopped) return;
      if (answer.kind === 'lease-lost') onStop('lease-lost');
      else {
        this.expiresAt = answer.expires_at;
        if (answer.cancel) onStop('cancelled');
      }
    } catch (error) {
      log(`progress of job ${job.id} not posted: ${(error as Error).message}`);
    }
  }
}
