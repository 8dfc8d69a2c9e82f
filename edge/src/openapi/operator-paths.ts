// The routes operators and gpu-workers call rather than API clients: the autoscaling metrics
// (METRICS_TOKEN) and, in scale-out mode, the gpu-workers' claim and reports on pulled jobs
// (signed with GPU_SHARED_SECRET; shared/src/protocol/dispatch.ts holds their bodies).
import type { Operation, Parameter, PathItem } from './openapi-types.ts';
import { jsonResponse, PUBLIC, responseRef } from './operation-parts.ts';

const TAG = 'Operators and gpu-workers';

const jobId: Parameter = {
  name: 'id',
  in: 'path',
  required: true,
  description: 'The job id (a UUID), from the queue message.',
  schema: { type: 'string', format: 'uuid' },
};

const signed = (operation: Omit<Operation, 'tags' | 'security' | 'parameters'>): { post: Operation } => ({
  post: {
    ...operation,
    tags: [TAG],
    security: PUBLIC,
    parameters: [jobId],
    description: `${operation.description} Signed by the gpu-worker with GPU_SHARED_SECRET (X-Latent-Timestamp, X-Latent-Signature over the exact body); refused with 401 before the body is read when the headers are missing or stale.`,
    responses: {
      ...operation.responses,
      '400': responseRef('InvalidRequest'),
      '401': jsonResponse('The signature is missing, stale or wrong.', 'ErrorBody'),
      '413': responseRef('TooLarge'),
    },
  },
});

const json = (description: string) => ({
  description,
  content: { 'application/json': { schema: { type: 'object' as const } } },
});
const JOB = '3f1c9a52-7d4e-4b8a-9c61-2e5f0a7b8d93';
const TOKEN = 'b9e7c3a1-5d2f-4e8b-a6c4-0f1e2d3c4b5a';
/** A JSON body with its example (the document's test checks one against the other). */
const jsonRequest = (example: Record<string, unknown>) => ({
  required: true,
  content: { 'application/json': { schema: { type: 'object' as const }, example } },
});

const envelope = { 'application/vnd.latent-edge.envelope': { schema: { type: 'string', format: 'binary' } } };

export const OPERATOR_TAG = {
  name: TAG,
  description: 'Autoscaling metrics, and the routes gpu-workers call in scale-out mode.',
};

export function operatorPaths(): Record<string, PathItem> {
  return {
    '/metrics': {
      get: {
        operationId: 'getMetrics',
        tags: [TAG],
        summary: 'Scale-out work and the operator’s counters, in Prometheus text',
        description:
          'latent_edge_dispatch_backlog and latent_edge_dispatch_in_flight per model and tier, latent_edge_dispatch_waiting per model (every series present, 0 when idle); counters latent_edge_requests_total by route, method and status, latent_edge_refusals_total by reason, latent_edge_jobs_total by outcome, latent_edge_images_total by source (gpu, cache). Bearer METRICS_TOKEN or OPERATOR_TOKEN (not an API key); 404 when neither is set.',
        security: PUBLIC,
        responses: {
          '200': {
            description: 'Prometheus text format 0.0.4.',
            content: { 'text/plain': { schema: { type: 'string' } } },
          },
          '401': jsonResponse('The metrics token is missing or wrong.', 'ErrorBody'),
          '404': responseRef('NotFound'),
        },
      },
    },
    '/internal/gpu/jobs/{id}/claim': signed({
      operationId: 'claimDispatchedJob',
      summary: 'Claim a pulled job (gpu-workers)',
      description:
        'Answers the job envelope with X-Claim-Token and X-Claim-Expires; 409 `claimed` with Retry-After while another worker holds a live lease; 410 `finished`, `cancelled`, `expired` or `unknown` (acknowledge and skip).',
      requestBody: jsonRequest({ job_id: JOB, worker: 'gpu-a:8788', message_id: 'm-1', attempts: 1 }),
      responses: {
        '200': { description: 'The job envelope.', content: envelope },
        '409': jsonResponse('Another worker holds the job.', 'ErrorBody'),
        '410': jsonResponse('Nothing to run.', 'ErrorBody'),
      },
    }),
    '/internal/gpu/jobs/{id}/progress': signed({
      operationId: 'reportDispatchedProgress',
      summary: 'Post a pulled job’s progress (gpu-workers)',
      description:
        'Renews the claim; the answer says whether to stop (a cancel, or another attempt’s result won).',
      requestBody: jsonRequest({
        job_id: JOB,
        token: TOKEN,
        events: [{ type: 'progress', step: 4, steps: 20, elapsed_ms: 410, eta_ms: 1640 }],
      }),
      responses: {
        '200': json('`{cancel, expires_at}`.'),
        '409': jsonResponse('This attempt no longer holds the job.', 'ErrorBody'),
      },
    }),
    '/internal/gpu/jobs/{id}/result': signed({
      operationId: 'reportDispatchedResult',
      summary: 'Post a pulled job’s result (gpu-workers)',
      description:
        'The result envelope, with X-Claim-Token; stored before the answer. The first result wins.',
      requestBody: { required: true, content: envelope },
      responses: { '200': json('`{outcome: "stored" | "duplicate"}`.') },
    }),
    '/internal/gpu/jobs/{id}/failure': signed({
      operationId: 'reportDispatchedFailure',
      summary: 'Report a pulled job’s failure (gpu-workers)',
      description: 'Retryable: the job goes back to the queue’s hands; final: the job fails with the reason.',
      requestBody: jsonRequest({
        job_id: JOB,
        token: TOKEN,
        code: 'busy',
        message: 'the queue is full',
        status: 503,
        retryable: true,
      }),
      responses: { '200': json('`{outcome: "recorded"}`.') },
    }),
  };
}
