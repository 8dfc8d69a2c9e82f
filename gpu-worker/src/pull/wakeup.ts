// A sleep that something else can cut short: the pull loop waits between rounds, and a job
// leaving the batcher (a free slot) or a stop must not wait for the timer.

export class Wakeup {
  private wakers = new Set<() => void>();

  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.wakers.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.wakers.add(done);
    });
  }

  /** Ends every sleep now. */
  wake(): void {
    for (const done of [...this.wakers]) done();
  }
}
