// The wait before the next pull after a round that brought nothing. Cloudflare has no long poll,
// so an idle worker asks again after a wait that doubles up to PULL_IDLE_MAX_MS. Three things keep
// that wait from landing on the next job's latency:
// - while the worker holds jobs it is not idle: it looks again every BUSY_RECHECK_MS and the idle
//   wait does not grow (without this, the empty pulls during one long job would leave the wait at
//   its maximum just as the job ends);
// - a job that ends starts the waits over, because a client that just got its answer often sends
//   the next request at once (a script, a batch, a Discord re-roll);
// - for RECENT_JOB_WINDOW_MS after that the wait stays at FIRST_IDLE_WAIT_MS instead of doubling:
//   the next request reaches the queue some 30–60 ms after the answer (the client's round trip and
//   the edge's admission), by when doubling waits (10, 20, 40…) would already be 40 ms apart.
//   Pulls are exempt from Cloudflare's API rate limit (SD-NOTES, Queues); the window bounds them
//   to about 50 per ended job.
// A round that brings messages also starts the waits over, and the loop then pulls again at once.

export const FIRST_IDLE_WAIT_MS = 10;
export const BUSY_RECHECK_MS = 50;
export const RECENT_JOB_WINDOW_MS = 500;

export class IdleBackoff {
  private waitMs = 0;
  private jobEndedAt = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly maxMs: number,
    private readonly now: () => number = performance.now.bind(performance),
  ) {}

  /** The wait after a round that brought nothing; `busy` while the worker still runs jobs. */
  afterEmptyRound(busy: boolean): number {
    if (busy) return Math.min(BUSY_RECHECK_MS, this.maxMs);
    if (this.now() - this.jobEndedAt < RECENT_JOB_WINDOW_MS) {
      this.waitMs = Math.min(this.maxMs, FIRST_IDLE_WAIT_MS);
      return this.waitMs;
    }
    this.waitMs = Math.min(this.maxMs, this.waitMs === 0 ? FIRST_IDLE_WAIT_MS : this.waitMs * 2);
    return this.waitMs;
  }

  /** A round brought messages: the next idle wait starts from the first step. */
  reset(): void {
    this.waitMs = 0;
  }

  /** A job ended: the waits start over and stay short for RECENT_JOB_WINDOW_MS. */
  jobEnded(): void {
    this.reset();
    this.jobEndedAt = this.now();
  }
}
