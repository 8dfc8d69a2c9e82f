// The native API: generation (synchronous, or a job with `Prefer: respond-async` or a webhook),
// jobs and their event stream, models, tokenizing, and the webhook signing secret.
import type { RequestExamples } from './examples.ts';
import type { PathItem } from './openapi-types.ts';
import {
  BODY_ERRORS,
  GPU_ERRORS,
  jsonBody,
  jsonResponse,
  responseRef,
  withApiKey,
} from './operation-parts.ts';
import { headerRef } from './response-headers.ts';

const jobId = { $ref: '#/components/parameters/JobId' };

export function nativePaths(examples: RequestExamples): Record<string, PathItem> {
  return {
    '/v1/images': {
      post: withApiKey({
        operationId: 'createImages',
        tags: ['Images'],
        summary: 'Generate images',
        description:
          'Waits for the images by default (at most about twice the gpu-worker timeout). With `Prefer: respond-async` (RFC 7240), or a `webhook`, answers 202 at once with a job to poll (GET /v1/jobs/{id}) or to be told about. Images already in the result cache are answered at once either way, without a gpu-worker.',
        parameters: [
          {
            name: 'Prefer',
            in: 'header',
            description: '`respond-async`: answer 202 with a job instead of waiting for the images.',
            schema: { type: 'string' },
            example: 'respond-async',
          },
        ],
        requestBody: jsonBody('ImagesRequest', examples.images),
        responses: {
          '200': jsonResponse('The images.', 'ImagesResponse', { 'X-Cache': headerRef('X-Cache') }),
          '202': jsonResponse('Accepted as an asynchronous job (queued).', 'JobView', {
            Location: {
              description: 'The job’s URL.',
              required: true,
              schema: { type: 'string', format: 'uri' },
            },
            'Preference-Applied': { required: true, schema: { type: 'string', const: 'respond-async' } },
          }),
          ...BODY_ERRORS,
          ...GPU_ERRORS,
        },
      }),
    },
    '/v1/jobs/{id}': {
      parameters: [jobId],
      get: withApiKey({
        operationId: 'getJob',
        tags: ['Jobs'],
        summary: 'Get a job',
        description: 'Its status and, once it succeeded, the images (as POST /v1/images answers them).',
        responses: { '200': jsonResponse('The job.', 'JobView'), '404': responseRef('NotFound') },
      }),
      delete: withApiKey({
        operationId: 'cancelJob',
        tags: ['Jobs'],
        summary: 'Cancel a job',
        description:
          'A queued job never runs; a running one is stopped on its gpu-worker at the next step. Cancelling a cancelled job changes nothing.',
        responses: {
          '200': jsonResponse('The job, now cancelled.', 'JobView'),
          '404': responseRef('NotFound'),
          '409': jsonResponse('The job already succeeded or failed.', 'ErrorBody'),
        },
      }),
    },
    '/v1/jobs/{id}/events': {
      parameters: [jobId],
      get: withApiKey({
        operationId: 'streamJobEvents',
        tags: ['Jobs'],
        summary: 'Follow a job’s progress',
        description:
          'Server-sent events, each an `id:`, an `event:` name and one JSON `data:` line, as the JobEvent schema describes: first where the job is (`queued` with its place in the queue, or `progress`, and the latest `preview`), then `queued`, `progress` after each step and `preview` (when the job asked for them with `preview_every`) as they happen, and last `done`, `failed` or `cancelled` with the job, after which the stream ends. A finished job’s stream is its final event. A comment line every 15 s keeps idle connections open. Reconnecting with `Last-Event-ID` resumes without a gap while the events since are still kept, else starts again from where the job is.',
        parameters: [
          {
            name: 'Last-Event-ID',
            in: 'header',
            description:
              'The `id` of the last event received, to resume after it (EventSource sends it itself).',
            schema: { type: 'string', pattern: '^\\d+$' },
          },
        ],
        responses: {
          '200': {
            description: 'The event stream.',
            headers: { 'Cache-Control': { required: true, schema: { type: 'string', const: 'no-store' } } },
            content: {
              'text/event-stream': {
                schema: { type: 'string', description: 'Events whose `data` the JobEvent schema describes.' },
                example:
                  'id: 3\nevent: queued\ndata: {"position":1}\n\nid: 4\nevent: progress\ndata: {"step":1,"steps":20,"elapsed_ms":180,"eta_ms":3420}\n\n',
              },
            },
          },
          '404': responseRef('NotFound'),
        },
      }),
    },
    '/v1/models': {
      get: withApiKey({
        operationId: 'listModels',
        tags: ['Models'],
        summary: 'List the served models',
        description: 'Each with its revision, defaults and limits, so a client can build a valid request.',
        responses: { '200': jsonResponse('The models.', 'ModelList') },
      }),
    },
    '/v1/tokenize': {
      post: withApiKey({
        operationId: 'tokenize',
        tags: ['Models'],
        summary: 'Tokenize a prompt',
        description: 'Exactly as a generation would see it: emphasis weights, 75-token chunks and the count.',
        requestBody: jsonBody('TokenizeRequest', examples.tokenize),
        responses: { '200': jsonResponse('The tokens.', 'TokenizeResponse'), ...BODY_ERRORS },
      }),
    },
    '/v1/webhook-secret': {
      get: withApiKey({
        operationId: 'getWebhookSecret',
        tags: ['Images'],
        summary: 'Get this key’s webhook signing secret',
        description: 'Webhook deliveries for jobs this key created are signed with it (Standard Webhooks).',
        responses: {
          '200': jsonResponse('The secret.', 'WebhookSecret', {
            'Cache-Control': { required: true, schema: { type: 'string', const: 'no-store' } },
          }),
          '404': responseRef('NotFound'),
        },
      }),
    },
  };
}
