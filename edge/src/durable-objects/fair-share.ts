// Fair share of the GPU fleet between API keys (scale-out mode): one Durable Object per key (or
// Discord server) lets at most its cap of jobs into the GPU queues at once; the others wait here,
// first come first served, and enter as the key's earlier jobs end. So a key that floods the
// service queues behind itself, not in front of everyone else. Grants are stored with the job's
// deadline, so a request that died without releasing frees its slot when that passes: an alarm at
// the earliest deadline hands the slot to the next waiter then, rather than at the next release.
import { DurableObject } from 'cloudflare:workers';

interface Waiter {
  jobId: string;
  cap: number;
  until: number;
  grant: (granted: boolean) => void;
}

export class FairShare extends DurableObject<Env> {
  private granted: Map<string, number> | undefined;
  private readonly waiting: Waiter[] = [];

  private async load(): Promise<Map<string, number>> {
    this.granted ??= new Map(await this.ctx.storage.list<number>());
    return this.granted;
  }

  /** Live grants, dropping those whose deadline has passed. */
  private async live(now: number): Promise<Map<string, number>> {
    const granted = await this.load();
    for (const [jobId, until] of granted) {
      if (until <= now) {
        granted.delete(jobId);
        await this.ctx.storage.delete(jobId);
      }
    }
    return granted;
  }

  /**
   * Resolves true once `jobId` may enter the queue (at most `cap` of this key's jobs at once), or
   * false if `until` (ms since the epoch) comes first.
   */
  async acquire(jobId: string, cap: number, until: number): Promise<boolean> {
    const granted = await this.live(Date.now());
    if (granted.has(jobId)) return true;
    if (granted.size < cap && this.waiting.length === 0) {
      await this.grant(granted, jobId, until);
      return true;
    }
    return new Promise<boolean>((resolve) => {
      const timer = setTimeout(
        () => {
          const at = this.waiting.indexOf(waiter);
          if (at >= 0) this.waiting.splice(at, 1);
          resolve(false);
        },
        Math.max(0, until - Date.now()),
      );
      const waiter: Waiter = {
        jobId,
        cap,
        until,
        grant: (granted) => {
          clearTimeout(timer);
          resolve(granted);
        },
      };
      this.waiting.push(waiter);
    });
  }

  /** The job has ended (or gave up): its slot goes to the next waiter. */
  async release(jobId: string): Promise<void> {
    const granted = await this.live(Date.now());
    if (granted.delete(jobId)) await this.ctx.storage.delete(jobId);
    await this.admitWaiters(granted);
  }

  /** The earliest grant's deadline passed: its slot goes to the next waiter. */
  override async alarm(): Promise<void> {
    const granted = await this.live(Date.now());
    await this.admitWaiters(granted);
    await this.scheduleExpiry(granted);
  }

  private async admitWaiters(granted: Map<string, number>): Promise<void> {
    while (this.waiting.length > 0) {
      const next = this.waiting[0];
      if (granted.size >= next.cap) break;
      this.waiting.shift();
      await this.grant(granted, next.jobId, next.until);
      next.grant(true);
    }
  }

  private async grant(granted: Map<string, number>, jobId: string, until: number): Promise<void> {
    granted.set(jobId, until);
    await this.ctx.storage.put(jobId, until);
    await this.scheduleExpiry(granted);
  }

  /** An alarm at the earliest live grant's deadline (none when nothing is granted). */
  private async scheduleExpiry(granted: Map<string, number>): Promise<void> {
    if (granted.size === 0) return;
    const earliest = Math.min(...granted.values());
    const current = await this.ctx.storage.getAlarm();
    if (current === null || current > earliest) await this.ctx.storage.setAlarm(earliest);
  }

  async counts(): Promise<{ in_flight: number; waiting: number }> {
    return { in_flight: (await this.live(Date.now())).size, waiting: this.waiting.length };
  }
}
