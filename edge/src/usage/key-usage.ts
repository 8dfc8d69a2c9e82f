// One Durable Object per API key (by its id): what the key's finished jobs used, exactly, and its
// quota's admission. SQLite storage, so every change is one transaction:
//   - `jobs` remembers each recorded job id for JOB_MEMORY_DAYS: a job recorded twice (a queue
//     redelivery, a retried call) counts once;
//   - `rollups` holds one row per UTC day, one per UTC month and one for all time;
//   - `reservations` holds the images of admitted jobs not yet finished, so that concurrent
//     requests cannot all pass a daily quota that only some of them fit. A job's record or its
//     failure releases its reservation; one nobody releases (a lost consumer) lapses after
//     RESERVATION_TTL_MS.
// The object is single-threaded and each method runs its SQL without awaiting in between, so a
// check and its reservation cannot interleave with another request's.
import { DurableObject } from 'cloudflare:workers';
import type { KeyQuota } from '../auth/api-key.ts';
import { secondsToNextDay, secondsToNextMonth, utcDay, utcMonth } from './usage-periods.ts';
import type { JobUsage, UsageReport, UsageTotals } from './usage-types.ts';

export type { JobUsage, UsageReport, UsageTotals };

/** How long a job id is remembered against a second record of the same job. */
const JOB_MEMORY_DAYS = 35;
/** An admitted job's images stop counting against the quota this long after admission, if it never ends. */
export const RESERVATION_TTL_MS = 60 * 60 * 1000;

export type Admission =
  | { allowed: true }
  | {
      allowed: false;
      quota: 'images_per_day' | 'worker_seconds_per_month';
      limit: number;
      used: number;
      retryAfterSeconds: number;
    };

interface RollupRow extends Record<string, SqlStorageValue> {
  jobs: number;
  images: number;
  cached_images: number;
  step_pixels: number;
  worker_ms: number;
}

const ZERO: RollupRow = { jobs: 0, images: 0, cached_images: 0, step_pixels: 0, worker_ms: 0 };

const totals = (row: RollupRow): UsageTotals => ({
  jobs: row.jobs,
  images: row.images,
  cached_images: row.cached_images,
  step_pixels: row.step_pixels,
  worker_seconds: row.worker_ms / 1000,
});

export class KeyUsage extends DurableObject<Env> {
  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    ctx.storage.sql.exec(`
      CREATE TABLE IF NOT EXISTS jobs (job_id TEXT PRIMARY KEY, finished_at INTEGER NOT NULL);
      CREATE INDEX IF NOT EXISTS jobs_by_time ON jobs (finished_at);
      CREATE TABLE IF NOT EXISTS rollups (
        period TEXT PRIMARY KEY, jobs INTEGER NOT NULL, images INTEGER NOT NULL,
        cached_images INTEGER NOT NULL, step_pixels INTEGER NOT NULL, worker_ms INTEGER NOT NULL);
      CREATE TABLE IF NOT EXISTS reservations (
        job_id TEXT PRIMARY KEY, images INTEGER NOT NULL, expires_at INTEGER NOT NULL);
    `);
  }

  private rollup(period: string): RollupRow {
    return (
      this.ctx.storage.sql
        .exec<RollupRow>(
          'SELECT jobs, images, cached_images, step_pixels, worker_ms FROM rollups WHERE period = ?',
          period,
        )
        .toArray()[0] ?? ZERO
    );
  }

  private reservedImages(now: number): number {
    const sql = this.ctx.storage.sql;
    sql.exec('DELETE FROM reservations WHERE expires_at <= ?', now);
    return sql.exec<{ n: number }>('SELECT coalesce(sum(images), 0) AS n FROM reservations').one().n;
  }

  /**
   * Admits a job of `images` images under `quota`, reserving them until the job is recorded or
   * released; a job already admitted is admitted again without a second reservation.
   */
  admit(jobId: string, images: number, quota: KeyQuota, now = Date.now()): Admission {
    const sql = this.ctx.storage.sql;
    const reserved = this.reservedImages(now);
    const already = sql.exec('SELECT 1 FROM reservations WHERE job_id = ?', jobId).toArray().length > 0;
    if (already) return { allowed: true };
    const month = this.rollup(`month:${utcMonth(now)}`);
    const secondsLimit = quota.worker_seconds_per_month;
    if (secondsLimit !== undefined && month.worker_ms >= secondsLimit * 1000) {
      return {
        allowed: false,
        quota: 'worker_seconds_per_month',
        limit: secondsLimit,
        used: month.worker_ms / 1000,
        retryAfterSeconds: secondsToNextMonth(now),
      };
    }
    const imagesLimit = quota.images_per_day;
    const usedToday = this.rollup(`day:${utcDay(now)}`).images + reserved;
    if (imagesLimit !== undefined && usedToday + images > imagesLimit) {
      return {
        allowed: false,
        quota: 'images_per_day',
        limit: imagesLimit,
        used: usedToday,
        retryAfterSeconds: secondsToNextDay(now),
      };
    }
    sql.exec(
      'INSERT INTO reservations (job_id, images, expires_at) VALUES (?, ?, ?)',
      jobId,
      images,
      now + RESERVATION_TTL_MS,
    );
    return { allowed: true };
  }

  /** Frees a job's reservation without counting anything (the job failed or was cancelled). */
  release(jobId: string): void {
    this.ctx.storage.sql.exec('DELETE FROM reservations WHERE job_id = ?', jobId);
  }

  /** Counts a finished job once, whatever how often it is recorded; true the first time. */
  record(jobId: string, usage: JobUsage, now = Date.now()): boolean {
    const sql = this.ctx.storage.sql;
    sql.exec('DELETE FROM reservations WHERE job_id = ?', jobId);
    sql.exec('DELETE FROM jobs WHERE finished_at < ?', now - JOB_MEMORY_DAYS * 86_400_000);
    const fresh = sql
      .exec(
        'INSERT INTO jobs (job_id, finished_at) VALUES (?, ?) ON CONFLICT DO NOTHING RETURNING job_id',
        jobId,
        now,
      )
      .toArray();
    if (fresh.length === 0) return false;
    for (const period of [`day:${utcDay(now)}`, `month:${utcMonth(now)}`, 'total']) {
      sql.exec(
        `INSERT INTO rollups (period, jobs, images, cached_images, step_pixels, worker_ms)
         VALUES (?, 1, ?, ?, ?, ?)
         ON CONFLICT (period) DO UPDATE SET jobs = jobs + 1, images = images + excluded.images,
           cached_images = cached_images + excluded.cached_images,
           step_pixels = step_pixels + excluded.step_pixels, worker_ms = worker_ms + excluded.worker_ms`,
        period,
        usage.images,
        usage.cachedImages,
        usage.stepPixels,
        usage.workerMs,
      );
    }
    return true;
  }

  report(now = Date.now()): UsageReport {
    const day = utcDay(now);
    const month = utcMonth(now);
    return {
      day,
      month,
      today: totals(this.rollup(`day:${day}`)),
      this_month: totals(this.rollup(`month:${month}`)),
      total: totals(this.rollup('total')),
      reserved_images: this.reservedImages(now),
    };
  }
}
