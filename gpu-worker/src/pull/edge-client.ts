// The worker's side of the edge's dispatch routes (shared/src/protocol/dispatch.ts): claim a
// pulled job, post its progress, its result and its failure. Every call is signed over its exact
// body bytes with GPU_SHARED_SECRET, and every body names its job. Answers the protocol defines
// become values; anything else (no answer, 5xx, a status or body the protocol does not have) is
// an EdgeCallError, which the caller treats as "the edge could not be reached".
import {
  SIGNATURE_HEADER,
  type SignatureHeaders,
  signRequest,
} from '@latent-edge/shared/crypto/request-signing';
import {
  CLAIM_EXPIRES_HEADER,
  CLAIM_REFUSALS,
  CLAIM_TOKEN_HEADER,
  type ClaimRefusal,
  type ClaimRequest,
  dispatchPath,
  type FailureReport,
  ProgressAnswer,
  type ProgressReport,
  ReportAnswer,
} from '@latent-edge/shared/protocol/dispatch';
import { ENVELOPE_CONTENT_TYPE } from '@latent-edge/shared/protocol/envelope';
import type { z } from 'zod';

export class EdgeCallError extends Error {
  override name = 'EdgeCallError';
  constructor(
    message: string,
    /** The HTTP status, or undefined when no answer came. */
    readonly status?: number,
  ) {
    super(message);
  }
}

export type ClaimAnswer =
  | { kind: 'claimed'; envelope: Uint8Array; token: string; expiresAt: number }
  /** Another worker holds a live lease: retry the message after this long (it may die). */
  | { kind: 'held-elsewhere'; retryAfterSeconds: number }
  /** Finished, cancelled, expired or unknown: acknowledge and skip. */
  | { kind: 'refused'; reason: Exclude<ClaimRefusal, 'claimed'> };

export type ProgressOutcome = ({ kind: 'renewed' } & ProgressAnswer) | { kind: 'lease-lost' };

/** Waits between tries of a result post (network errors and 5xx only). */
export const RESULT_RETRY_DELAYS_MS = [200, 1000, 3000];

export interface EdgeClientOptions {
  edgeUrl: string;
  secret: string;
  fetch?: typeof fetch;
  resultRetryDelaysMs?: readonly number[];
}

/** The answer's JSON in the protocol's shape, or an EdgeCallError naming what came instead. */
async function answerOf<T>(schema: z.ZodType<T>, response: Response, what: string): Promise<T> {
  const parsed = schema.safeParse(await response.json().catch(() => undefined));
  if (!parsed.success) throw new EdgeCallError(`${what}: the answer is not the protocol's`, response.status);
  return parsed.data;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function errorCode(response: Response): Promise<string | undefined> {
  try {
    const body = (await response.json()) as { error?: { code?: unknown } };
    return typeof body.error?.code === 'string' ? body.error.code : undefined;
  } catch {
    return undefined;
  }
}

/** Signatures remembered to avoid repeating one (about a few seconds' worth of calls). */
const RECENT_SIGNATURES = 1000;

export class EdgeClient {
  private readonly fetch: typeof fetch;
  private readonly recentSignatures = new Set<string>();

  constructor(private readonly options: EdgeClientOptions) {
    this.fetch = options.fetch ?? globalThis.fetch;
  }

  async claim(request: ClaimRequest): Promise<ClaimAnswer> {
    const response = await this.post(request.job_id, 'claim', JSON.stringify(request), 'application/json');
    if (response.status === 200) {
      const token = response.headers.get(CLAIM_TOKEN_HEADER);
      const expiresAt = Number(response.headers.get(CLAIM_EXPIRES_HEADER));
      if (!token) throw new EdgeCallError(`claim of job ${request.job_id}: no ${CLAIM_TOKEN_HEADER}`, 200);
      return { kind: 'claimed', envelope: new Uint8Array(await response.arrayBuffer()), token, expiresAt };
    }
    const code = await errorCode(response);
    if (response.status === 409 && code === 'claimed') {
      const retryAfter = Number(response.headers.get('Retry-After'));
      return { kind: 'held-elsewhere', retryAfterSeconds: Number.isFinite(retryAfter) ? retryAfter : 1 };
    }
    if (response.status === 410 && CLAIM_REFUSALS.includes(code as ClaimRefusal) && code !== 'claimed') {
      return { kind: 'refused', reason: code as Exclude<ClaimRefusal, 'claimed'> };
    }
    throw new EdgeCallError(
      `claim of job ${request.job_id}: ${response.status} ${code ?? ''}`,
      response.status,
    );
  }

  async progress(report: ProgressReport): Promise<ProgressOutcome> {
    const response = await this.post(report.job_id, 'progress', JSON.stringify(report), 'application/json');
    if (response.status === 409 && (await errorCode(response)) === 'lease_lost')
      return { kind: 'lease-lost' };
    if (response.status !== 200)
      throw new EdgeCallError(`progress of job ${report.job_id}: ${response.status}`, response.status);
    return {
      kind: 'renewed',
      ...(await answerOf(ProgressAnswer, response, `progress of job ${report.job_id}`)),
    };
  }

  /** Posts the result envelope, trying again on network errors and 5xx; the edge keeps the first. */
  async result(jobId: string, token: string, envelope: Uint8Array): Promise<ReportAnswer> {
    const delays = this.options.resultRetryDelaysMs ?? RESULT_RETRY_DELAYS_MS;
    for (let attempt = 0; ; attempt++) {
      try {
        const response = await this.post(jobId, 'result', envelope, ENVELOPE_CONTENT_TYPE, token);
        if (response.status === 200) return await answerOf(ReportAnswer, response, `result of job ${jobId}`);
        throw new EdgeCallError(`result of job ${jobId}: ${response.status}`, response.status);
      } catch (error) {
        const status = (error as EdgeCallError).status;
        const retryable = error instanceof EdgeCallError && (status === undefined || status >= 500);
        if (!retryable || attempt >= delays.length) throw error;
        await sleep(delays[attempt]);
      }
    }
  }

  async failure(report: FailureReport): Promise<ReportAnswer> {
    const response = await this.post(report.job_id, 'failure', JSON.stringify(report), 'application/json');
    if (response.status !== 200)
      throw new EdgeCallError(`failure of job ${report.job_id}: ${response.status}`, response.status);
    return answerOf(ReportAnswer, response, `failure of job ${report.job_id}`);
  }

  /**
   * Signs the body with a signature this client has not sent before. The signature covers the
   * timestamp in whole seconds, so the same body sent again within a second (a result post tried
   * again, an empty heartbeat) would repeat it, and the edge's replay guard refuses a repeat.
   */
  private async sign(bytes: Uint8Array): Promise<SignatureHeaders> {
    for (;;) {
      const headers = await signRequest(this.options.secret, bytes);
      const signature = headers[SIGNATURE_HEADER];
      if (!this.recentSignatures.has(signature)) {
        this.recentSignatures.add(signature);
        if (this.recentSignatures.size > RECENT_SIGNATURES)
          this.recentSignatures.delete(this.recentSignatures.values().next().value as string);
        return headers;
      }
      await sleep(1000 - (Date.now() % 1000) + 1);
    }
  }

  private async post(
    jobId: string,
    action: 'claim' | 'progress' | 'result' | 'failure',
    body: string | Uint8Array,
    contentType: string,
    token?: string,
  ): Promise<Response> {
    const bytes = typeof body === 'string' ? new TextEncoder().encode(body) : body;
    const headers: Record<string, string> = {
      'Content-Type': contentType,
      ...(await this.sign(bytes)),
    };
    if (token) headers[CLAIM_TOKEN_HEADER] = token;
    try {
      return await this.fetch(`${this.options.edgeUrl}${dispatchPath(jobId, action)}`, {
        method: 'POST',
        headers,
        body: bytes as Uint8Array<ArrayBuffer>,
      });
    } catch (error) {
      throw new EdgeCallError(`${action} of job ${jobId}: ${(error as Error).message}`);
    }
  }
}
