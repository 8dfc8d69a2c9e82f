// An interaction token lives 15 minutes from the interaction's creation (SD-NOTES §5.3), and a
// deferred reply can only be edited with it. The creation time is in the interaction's id: a
// snowflake's top 42 bits are milliseconds since Discord's epoch (discord-api-docs
// `reference.mdx`, "Snowflakes"). A job starts only if, in the worst case (a timed-out attempt and
// the one retry on another gpu-worker, gpu-pool.ts), it still ends while the token lives.

/** 2015-01-01T00:00:00Z, where snowflake time starts. */
const DISCORD_EPOCH_MS = 1_420_070_400_000n;
export const TOKEN_LIFE_MS = 15 * 60_000;
/** Kept at the end of a token's life for storing the image and editing the message. */
export const DELIVERY_MARGIN_MS = 30_000;
/** The longest gpu-worker attempt a Discord job gets, whatever GPU_TIMEOUT_MS says: two attempts
 * and the delivery must fit in one token's life. */
export const MAX_ATTEMPT_MS = (TOKEN_LIFE_MS - DELIVERY_MARGIN_MS) / 2;

export function snowflakeTime(id: string): number {
  return Number((BigInt(id) >> 22n) + DISCORD_EPOCH_MS);
}

export function tokenExpiresAt(interactionId: string): number {
  return snowflakeTime(interactionId) + TOKEN_LIFE_MS;
}

export function attemptTimeoutMs(gpuTimeoutMs: number): number {
  return Math.min(gpuTimeoutMs, MAX_ATTEMPT_MS);
}

/** Whether a job started at `startMs` with attempts of `attemptMs` is delivered before the token dies. */
export function finishesInTime(interactionId: string, startMs: number, attemptMs: number): boolean {
  return startMs + 2 * attemptMs + DELIVERY_MARGIN_MS <= tokenExpiresAt(interactionId);
}
