// The routes gpu-workers call in scale-out mode (shared/src/protocol/dispatch.ts), signed with
// GPU_SHARED_SECRET instead of an API key: claim a pulled job (answered with its envelope), post
// its progress (answered with whether to stop), its result (stored here, in R2 and KV, before the
// answer, so the worker acknowledges its message only once the images are safe) or its failure.
// Headers are checked before any body is read; bodies are read with a limit.
import {
  DEFAULT_WINDOW_SECONDS,
  ReplayGuard,
  SIGNATURE_HEADER,
  TIMESTAMP_HEADER,
  verifyRequest,
} from '@latent-edge/shared/crypto/request-signing';
import {
  CLAIM_EXPIRES_HEADER,
  CLAIM_TOKEN_HEADER,
  ClaimRequest,
  FailureReport,
  ProgressReport,
  type ReportAnswer,
} from '@latent-edge/shared/protocol/dispatch';
import { ENVELOPE_CONTENT_TYPE } from '@latent-edge/shared/protocol/envelope';
import { decodeGpuResult } from '@latent-edge/shared/protocol/gpu-client';
import { parseWith } from '@latent-edge/shared/protocol/validation-error';
import { type Context, Hono } from 'hono';
import type { z } from 'zod';
import { SMALL_BODY_BYTES } from '../config/edge-config.ts';
import type { AppEnv } from '../env.ts';
import { envelopeKey } from '../generation/queue-dispatch.ts';
import { storeResults } from '../generation/store-results.ts';
import { ApiError } from '../http/api-error.ts';
import { readLimited } from '../http/read-json.ts';
import { isRelayed, JOB_ID } from '../jobs/job-record.ts';

/** A result envelope: every image of a batch, as PNG at the largest sizes, fits well inside. */
const RESULT_BODY_BYTES = 96 * 1024 * 1024;

/** Per isolate, like the worker's: a captured call cannot be replayed within the window. */
const replayGuard = new ReplayGuard();

/** The signed body, refused before it is read when the signature headers are absent or stale. */
async function signedBody(c: Context<AppEnv>, maxBytes: number): Promise<Uint8Array> {
  const timestamp = c.req.header(TIMESTAMP_HEADER);
  const signature = c.req.header(SIGNATURE_HEADER);
  const age = Math.abs(Date.now() / 1000 - Number(timestamp));
  if (!timestamp || !signature || !(age <= DEFAULT_WINDOW_SECONDS)) {
    throw new ApiError(401, 'unauthorized', 'a signed gpu-worker call is required');
  }
  const body = await readLimited(c.req.raw, maxBytes);
  const verdict = await verifyRequest(c.var.config.GPU_SHARED_SECRET, body, timestamp, signature, {
    replayGuard,
  });
  if (!verdict.ok) throw new ApiError(401, 'unauthorized', `signature rejected: ${verdict.reason}`);
  return body;
}

async function signedJson<T extends z.ZodType>(c: Context<AppEnv>, schema: T): Promise<z.output<T>> {
  const body = await signedBody(c, SMALL_BODY_BYTES);
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder().decode(body));
  } catch {
    throw new ApiError(400, 'invalid_json', 'the body is not JSON');
  }
  const parsed = parseWith(schema, value);
  if (!parsed.success) {
    throw new ApiError(400, parsed.error.code, parsed.error.message, { field: parsed.error.field });
  }
  if ((parsed.data as { job_id?: string }).job_id !== c.req.param('id')) {
    throw new ApiError(400, 'invalid_request', 'job_id does not match the path', { field: 'job_id' });
  }
  return parsed.data;
}

/** The job's JobState, for a path id that is a job id. */
function jobState(c: Context<AppEnv>) {
  const id = c.req.param('id') ?? '';
  if (!JOB_ID.test(id)) throw new ApiError(404, 'not_found', `no job ${id}`);
  return c.env.JOB_STATE.getByName(id);
}

export const gpuDispatch = new Hono<AppEnv>();

gpuDispatch.post('/jobs/:id/claim', async (c) => {
  const state = jobState(c);
  const claim = await signedJson(c, ClaimRequest);
  const decision = await state.claimDispatch(claim.worker);
  if (!decision.granted) {
    const status = decision.reason === 'claimed' ? 409 : 410;
    const headers: Record<string, string> = {};
    if (decision.retryAfterMs) headers['Retry-After'] = String(Math.ceil(decision.retryAfterMs / 1000));
    throw new ApiError(status, decision.reason, `job ${claim.job_id}: ${decision.reason}`, { headers });
  }
  const envelope = await c.env.IMAGES.get(envelopeKey(claim.job_id));
  if (!envelope) {
    await state.failDispatch(
      decision.token,
      { status: 500, code: 'internal', message: 'the job envelope is missing' },
      false,
    );
    throw new ApiError(410, 'unknown', `job ${claim.job_id} has no envelope`);
  }
  return new Response(envelope.body, {
    headers: {
      'Content-Type': ENVELOPE_CONTENT_TYPE,
      [CLAIM_TOKEN_HEADER]: decision.token,
      [CLAIM_EXPIRES_HEADER]: String(decision.expiresAt),
    },
  });
});

gpuDispatch.post('/jobs/:id/progress', async (c) => {
  const state = jobState(c);
  const report = await signedJson(c, ProgressReport);
  const answer = await state.dispatchProgress(report.token, report.events.filter(isRelayed));
  if (!answer.held)
    throw new ApiError(409, 'lease_lost', `this attempt no longer holds job ${report.job_id}`);
  return c.json({ cancel: answer.cancel, expires_at: answer.expiresAt });
});

gpuDispatch.post('/jobs/:id/result', async (c) => {
  const state = jobState(c);
  const token = c.req.header(CLAIM_TOKEN_HEADER) ?? '';
  const body = await signedBody(c, RESULT_BODY_BYTES);
  let response: ReturnType<typeof decodeGpuResult>;
  try {
    response = decodeGpuResult(body);
  } catch (error) {
    throw new ApiError(400, 'invalid_request', `not a result envelope: ${(error as Error).message}`);
  }
  if (response.result.job_id !== c.req.param('id')) {
    throw new ApiError(400, 'invalid_request', 'job_id does not match the path', { field: 'job_id' });
  }
  const record = await state.beginResult(token);
  const duplicate: ReportAnswer = { outcome: 'duplicate' };
  if (!record) return c.json(duplicate);
  try {
    await storeResults(c.env, record.plan, response);
  } catch (error) {
    await state.abandonResult(token);
    throw error;
  }
  const stored = await state.completeDispatch(token, response.result);
  if (stored) c.executionCtx.waitUntil(c.env.IMAGES.delete(envelopeKey(record.job_id)));
  return c.json({ outcome: stored ? 'stored' : 'duplicate' } satisfies ReportAnswer);
});

gpuDispatch.post('/jobs/:id/failure', async (c) => {
  const state = jobState(c);
  const report = await signedJson(c, FailureReport);
  const { status, code, message, field } = report;
  await state.failDispatch(report.token, { status, code, message, field }, report.retryable);
  return c.json({ outcome: 'recorded' } satisfies ReportAnswer);
});
