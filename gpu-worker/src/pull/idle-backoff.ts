// The wait before the next pull after a round that brought nothing. Cloudflare has no long poll,
// so an idle worker asks again after a wait that doubles up to PULL_IDLE_MAX_MS. Two things keep
// that wait from landing on the next job's latency:
// - while the worker holds jobs it is not idle: it looks again every BUSY_RECHECK_MS and the idle
//   wait does not grow (without this, the empty pulls during one long job would leave the wait at
//   its maximum just as the job ends);
// - a job that ends starts the waits over from FIRST_IDLE_WAIT_MS, because a client that just got
//   its answer often sends the next request at once (a script, a batch, a Discord re-roll).
// A round that brings messages also starts them over, and the loop then pulls again at once.

export const FIRST_IDLE_WAIT_MS = 10;
export const BUSY_RECHECK_MS = 50;

export class IdleBackoff {
  private waitMs = 0;

  constructor(private readonly maxMs: number) {}

  /** The wait after a round that brought nothing; `busy` while the worker still runs jobs. */
  afterEmptyRound(busy: boolean): number {
    if (busy) return Math.min(BUSY_RECHECK_MS, this.maxMs);
    this.waitMs = Math.min(this.maxMs, this.waitMs === 0 ? FIRST_IDLE_WAIT_MS : this.waitMs * 2);
    return this.waitMs;
  }

  /** A round brought messages, or a job ended: the next idle wait starts from the first step. */
  reset(): void {
    this.waitMs = 0;
  }
}
