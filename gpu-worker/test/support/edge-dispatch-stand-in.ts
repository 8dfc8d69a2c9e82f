// A loopback stand-in for the edge's four dispatch routes (POST /internal/gpu/jobs/:id/{claim,
// progress,result,failure}), for testing the pull loop against real HTTP. It verifies every
// call's signature over the exact body bytes (with a replay guard), that the body (or the result
// envelope's head) names the job of the path, and the claim token; anything else is answered as
// the edge would refuse it and kept in `violations`, so `assertNoViolations()` fails the test.
// Claims hand out the job's envelope encoded as the edge encodes it (encodeEnvelope, as
// signedJobRequest does). A test scripts refusals, cancels and failed result posts per job.
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
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
} from '@latent-edge/shared/protocol/dispatch';
import { ENVELOPE_CONTENT_TYPE, encodeEnvelope } from '@latent-edge/shared/protocol/envelope';
import { decodeGpuResult, type GpuResponse } from '@latent-edge/shared/protocol/gpu-client';
import type { GpuJobEvent } from '@latent-edge/shared/protocol/job-events';

const ROUTE = /^\/internal\/gpu\/jobs\/([^/]+)\/(claim|progress|result|failure)$/;
const LEASE_MS = 60_000;

export interface StandInJob {
  body: { job_id: string } & Record<string, unknown>;
  state: 'open' | 'claimed' | 'finished' | 'failed';
  token?: string;
  claims: ClaimRequest[];
  events: GpuJobEvent[];
  results: GpuResponse[];
  failures: FailureReport[];
  /** Scripted answers to the next claims (409 claimed with Retry-After, or 410 with a code). */
  claimRefusals: ({ status: 409; retryAfter: number } | { status: 410; code: string })[];
  /** Answer `cancel: true` to progress posts once one carries this step (or any post, at 0). */
  cancelAtStep?: number;
  /** The next result posts answer 503. */
  failResults: number;
}

export interface Violation {
  path: string;
  problem: string;
}

export class EdgeDispatchStandIn {
  readonly jobs = new Map<string, StandInJob>();
  readonly violations: Violation[] = [];
  /** Every call in order: `<action> <job id>`. */
  readonly calls: string[] = [];
  /** Called when a result arrives, before it is answered (to check the message is still leased). */
  onResult?: (jobId: string) => void;
  private readonly replayGuard = new ReplayGuard();
  private server?: Server;

  constructor(private readonly secret: string) {}

  add(body: StandInJob['body'], script: Partial<StandInJob> = {}): StandInJob {
    const job: StandInJob = {
      body,
      state: 'open',
      claims: [],
      events: [],
      results: [],
      failures: [],
      claimRefusals: [],
      failResults: 0,
      ...script,
    };
    this.jobs.set(body.job_id, job);
    return job;
  }

  async start(): Promise<string> {
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', async () => {
        const answer = await this.handle(req.url ?? '/', req.headers, new Uint8Array(Buffer.concat(chunks)));
        res.writeHead(answer.status, answer.headers ?? { 'Content-Type': 'application/json' });
        res.end(answer.body instanceof Uint8Array ? Buffer.from(answer.body) : JSON.stringify(answer.body));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    this.server = server;
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  async close(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  assertNoViolations(): void {
    if (this.violations.length === 0) return;
    const lines = this.violations.map((v) => `${v.path}: ${v.problem}`);
    throw new Error(`the edge stand-in refused ${lines.length} call(s):\n${lines.join('\n')}`);
  }

  private async handle(
    path: string,
    headers: IncomingHttpHeaders,
    bytes: Uint8Array,
  ): Promise<{ status: number; body: unknown; headers?: Record<string, string> }> {
    const refuse = (status: number, problem: string) => {
      this.violations.push({ path, problem });
      return { status, body: { error: { code: 'refused', message: problem } } };
    };
    const match = ROUTE.exec(path);
    if (!match) return refuse(404, 'no such route');
    const [, id, action] = match;
    const jobId = decodeURIComponent(id);
    this.calls.push(`${action} ${jobId}`);
    const signed = await verifyRequest(
      this.secret,
      bytes,
      headers[TIMESTAMP_HEADER.toLowerCase()] as string | undefined,
      headers[SIGNATURE_HEADER.toLowerCase()] as string | undefined,
      { replayGuard: this.replayGuard },
    );
    if (!signed.ok) return refuse(401, `signature rejected: ${signed.reason}`);
    const job = this.jobs.get(jobId);
    if (!job) return { status: 410, body: { error: { code: 'unknown', message: 'no such job' } } };
    const contentType = headers['content-type'];
    if (action === 'result') {
      if (contentType !== ENVELOPE_CONTENT_TYPE) return refuse(415, `result Content-Type ${contentType}`);
      if (headers[CLAIM_TOKEN_HEADER.toLowerCase()] !== job.token)
        return refuse(409, 'result with a stale token');
      let result: GpuResponse;
      try {
        result = decodeGpuResult(bytes);
      } catch (error) {
        return refuse(400, `result envelope: ${(error as Error).message}`);
      }
      if (result.result.job_id !== jobId) return refuse(400, `result names job ${result.result.job_id}`);
      if (job.failResults > 0) {
        job.failResults--;
        return { status: 503, body: { error: { code: 'unavailable', message: 'try again' } } };
      }
      this.onResult?.(jobId);
      job.results.push(result);
      const outcome = job.state === 'finished' ? 'duplicate' : 'stored';
      job.state = 'finished';
      return { status: 200, body: { outcome } };
    }
    if (contentType !== 'application/json') return refuse(415, `${action} Content-Type ${contentType}`);
    let json: unknown;
    try {
      json = JSON.parse(new TextDecoder().decode(bytes));
    } catch {
      return refuse(400, `${action} body is not JSON`);
    }
    const schema = { claim: ClaimRequest, progress: ProgressReport, failure: FailureReport }[
      action as 'claim' | 'progress' | 'failure'
    ];
    const parsed = schema.safeParse(json);
    if (!parsed.success) return refuse(400, `${action} body: ${parsed.error.message}`);
    if (parsed.data.job_id !== jobId) return refuse(400, `${action} body names job ${parsed.data.job_id}`);

    if (action === 'claim') {
      job.claims.push(parsed.data as ClaimRequest);
      const scripted = job.claimRefusals.shift();
      if (scripted?.status === 409)
        return {
          status: 409,
          body: { error: { code: 'claimed', message: 'held elsewhere' } },
          headers: { 'Content-Type': 'application/json', 'Retry-After': String(scripted.retryAfter) },
        };
      if (scripted?.status === 410)
        return { status: 410, body: { error: { code: scripted.code, message: 'no' } } };
      if (job.state === 'finished')
        return { status: 410, body: { error: { code: 'finished', message: 'done' } } };
      if (job.state === 'claimed')
        return {
          status: 409,
          body: { error: { code: 'claimed', message: 'held' } },
          headers: { 'Content-Type': 'application/json', 'Retry-After': '1' },
        };
      job.state = 'claimed';
      job.token = randomUUID();
      return {
        status: 200,
        body: encodeEnvelope(job.body),
        headers: {
          'Content-Type': ENVELOPE_CONTENT_TYPE,
          [CLAIM_TOKEN_HEADER]: job.token,
          [CLAIM_EXPIRES_HEADER]: String(Date.now() + LEASE_MS),
        },
      };
    }
    const { token } = parsed.data as { token: string };
    if (token !== job.token)
      return { status: 409, body: { error: { code: 'lease_lost', message: 'stale' } } };
    if (action === 'progress') {
      const events = (parsed.data as ProgressReport).events;
      job.events.push(...events);
      const step = Math.max(0, ...events.map((e) => (e.type === 'progress' ? e.step : 0)));
      const cancel = job.cancelAtStep !== undefined && step >= job.cancelAtStep;
      return { status: 200, body: { cancel, expires_at: Date.now() + LEASE_MS } };
    }
    const report = parsed.data as FailureReport;
    job.failures.push(report);
    // A retryable failure gives the job back for the next delivery; a final one ends it.
    job.state = report.retryable ? 'open' : 'failed';
    return { status: 200, body: { outcome: 'recorded' } };
  }
}
