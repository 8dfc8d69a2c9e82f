// Waiting for a child of the stack to be ready: poll a probe until it yields a value, failing
// early when the child exits or the probe finds something that waiting will not fix.
import type { ManagedChild } from './child-process.ts';

/** Thrown by a probe for a state that will not change by waiting (wrong key, bad config). */
export class NotStartingError extends Error {}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Calls `probe` every 200 ms (its network errors mean "not yet") until it returns a value. */
export async function waitFor<T>(
  what: string,
  child: ManagedChild,
  timeoutMs: number,
  probe: () => Promise<T | undefined>,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!child.running()) {
      const { code, signal } = await child.exited;
      throw new Error(`${what} exited (${signal ?? `code ${code}`}) before it was ready`);
    }
    const value = await probe().catch((error: unknown) => {
      if (error instanceof NotStartingError) throw error;
      return undefined;
    });
    if (value !== undefined) return value;
    await sleep(200);
  }
  throw new Error(`${what} was not ready after ${Math.round(timeoutMs / 1000)} s`);
}
