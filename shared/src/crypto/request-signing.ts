// Edge → gpu-worker authentication: the sender signs the timestamp and the raw body with a shared
// secret (HMAC-SHA256); the receiver checks the signature in constant time, refuses timestamps
// outside a window either way, and refuses a signature it has already seen inside that window.
import { constantTimeEqual, hmacSha256Hex, type MessagePart } from './hmac.ts';

export const TIMESTAMP_HEADER = 'X-Latent-Timestamp';
export const SIGNATURE_HEADER = 'X-Latent-Signature';
/** How far a request's timestamp may be from the receiver's clock, in either direction. */
export const DEFAULT_WINDOW_SECONDS = 300;

export interface SignatureHeaders {
  [TIMESTAMP_HEADER]: string;
  [SIGNATURE_HEADER]: string;
}

/** Signs `${timestamp}.` + body, where body is what goes on the wire byte for byte. */
export async function signRequest(
  secret: string,
  body: MessagePart,
  nowMs: number = Date.now(),
): Promise<SignatureHeaders> {
  const timestamp = String(Math.floor(nowMs / 1000));
  return {
    [TIMESTAMP_HEADER]: timestamp,
    [SIGNATURE_HEADER]: `v1=${await hmacSha256Hex(secret, `${timestamp}.`, body)}`,
  };
}

/**
 * What a bodiless request (a job's cancel or interrupt, its event stream) signs in place of a body: the action
 * and the job, so a signature captured for one job or action cannot be replayed for another.
 */
export function jobActionMessage(action: 'cancel' | 'interrupt' | 'events', jobId: string): string {
  return `${action} ${jobId}`;
}

export type VerifyFailure = 'missing' | 'malformed' | 'stale' | 'future' | 'mismatch' | 'replayed';
export type VerifyResult = { ok: true } | { ok: false; reason: VerifyFailure };

export interface VerifyOptions {
  nowMs?: number;
  windowSeconds?: number;
  /** Remembers signatures already accepted; omit only where replays cannot matter. */
  replayGuard?: ReplayGuard;
}

export async function verifyRequest(
  secret: string,
  body: MessagePart,
  timestamp: string | null | undefined,
  signature: string | null | undefined,
  options: VerifyOptions = {},
): Promise<VerifyResult> {
  if (!timestamp || !signature) return { ok: false, reason: 'missing' };
  if (!/^\d{1,12}$/.test(timestamp) || !/^v1=[0-9a-f]{64}$/.test(signature)) {
    return { ok: false, reason: 'malformed' };
  }
  const nowSeconds = Math.floor((options.nowMs ?? Date.now()) / 1000);
  const window = options.windowSeconds ?? DEFAULT_WINDOW_SECONDS;
  const age = nowSeconds - Number(timestamp);
  if (age > window) return { ok: false, reason: 'stale' };
  if (age < -window) return { ok: false, reason: 'future' };
  const expected = `v1=${await hmacSha256Hex(secret, `${timestamp}.`, body)}`;
  if (!constantTimeEqual(expected, signature)) return { ok: false, reason: 'mismatch' };
  if (options.replayGuard && !options.replayGuard.accept(signature, Number(timestamp), nowSeconds)) {
    return { ok: false, reason: 'replayed' };
  }
  return { ok: true };
}

/**
 * Signatures accepted within the replay window. A signature older than the window cannot pass
 * the timestamp check again, so entries are dropped once their timestamp leaves the window.
 */
export class ReplayGuard {
  private readonly seen = new Map<string, number>();

  constructor(private readonly windowSeconds: number = DEFAULT_WINDOW_SECONDS) {}

  /** True the first time a signature is offered; false for a replay. */
  accept(signature: string, timestampSeconds: number, nowSeconds: number): boolean {
    this.evict(nowSeconds);
    if (this.seen.has(signature)) return false;
    this.seen.set(signature, timestampSeconds);
    return true;
  }

  get size(): number {
    return this.seen.size;
  }

  /** Insertion order is nearly timestamp order, so stop at the first entry still in the window. */
  private evict(nowSeconds: number): void {
    for (const [signature, timestamp] of this.seen) {
      if (nowSeconds - timestamp <= this.windowSeconds) break;
      this.seen.delete(signature);
    }
  }
}
