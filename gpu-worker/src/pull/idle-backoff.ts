// The wait before the next pull while the queues are empty (or the API is failing): Cloudflare
// has no long poll, so an idle worker asks again after a wait that doubles up to PULL_IDLE_MAX_MS,
// and a pull that brings messages resets it so a busy worker pulls again at once.

export const FIRST_IDLE_WAIT_MS = 50;

export class IdleBackoff {
  private waitMs = 0;

  constructor(private readonly maxMs: number) {}

  /** The wait after a round that brought nothing. */
  idle(): number {
    this.waitMs = Math.min(this.maxMs, this.waitMs === 0 ? FIRST_IDLE_WAIT_MS : this.waitMs * 2);
    return this.waitMs;
  }

  /** A round brought messages: the next wait starts from the first step again. */
  reset(): void {
    this.waitMs = 0;
  }
}
