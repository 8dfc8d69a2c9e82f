// The periods usage is rolled up by and quotas reset on: the UTC day and the UTC month. Pure
// functions of a time in ms, so a test can name any instant.

/** "2026-12-08": the UTC day `now` falls in. */
export function utcDay(now: number): string {
  return new Date(now).toISOString().slice(0, 10);
}

/** "2026-12": the UTC month `now` falls in. */
export function utcMonth(now: number): string {
  return new Date(now).toISOString().slice(0, 7);
}

/** Whole seconds (at least 1) from `now` to the next UTC midnight, when a daily quota resets. */
export function secondsToNextDay(now: number): number {
  const date = new Date(now);
  const next = Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), date.getUTCDate() + 1);
  return Math.max(1, Math.ceil((next - now) / 1000));
}

/** Whole seconds (at least 1) from `now` to the first instant of the next UTC month. */
export function secondsToNextMonth(now: number): number {
  const date = new Date(now);
  const next = Date.UTC(date.getUTCFullYear(), date.getUTCMonth() + 1, 1);
  return Math.max(1, Math.ceil((next - now) / 1000));
}
