// What the fake Cloudflare Queues API (fake-queues.ts) accepts in a request body, strictly: the
// shapes of the official SDK (cloudflare/cloudflare-typescript, src/resources/queues/messages.ts)
// with the limits of queues/platform/limits (SD-NOTES §6.7). Unknown fields are refused, so a
// client that sends the docs' `visibility_timeout` instead of the SDK's `visibility_timeout_ms`
// (and would silently get the 30 s default from the real service) fails its test instead.
// `zod/v4` rather than `zod`: test/ resolves the root node_modules, where `zod` is zod 3 (a
// wrangler dependency) and `zod/v4` is the same API as the workspaces' zod 4.
import { z } from 'zod/v4';

/** Delays and visibility timeouts are capped at 12 hours. */
export const MAX_DELAY_SECONDS = 12 * 60 * 60;
export const MAX_VISIBILITY_TIMEOUT_MS = MAX_DELAY_SECONDS * 1000;
export const DEFAULT_VISIBILITY_TIMEOUT_MS = 30_000;
export const DEFAULT_BATCH_SIZE = 5;
export const MAX_BATCH_SIZE = 100;
/** 128 KB per message and 256 KB per batch (KB = 1000 B), measured here on the JSON of the body. */
export const MAX_MESSAGE_BYTES = 128_000;
export const MAX_BATCH_BYTES = 256_000;

const delaySeconds = z.int().min(0).max(MAX_DELAY_SECONDS);

const bodySize = (body: unknown) => Buffer.byteLength(JSON.stringify(body) ?? '', 'utf8');

// `content_type` is required here although the SDK marks it optional: the product always says
// which one it means, and guessing is how a json body ends up delivered as text.
const message = z.discriminatedUnion(
  'content_type',
  [
    z.strictObject({
      body: z.string(),
      content_type: z.literal('text'),
      delay_seconds: delaySeconds.optional(),
    }),
    z.strictObject({
      body: z.json(),
      content_type: z.literal('json'),
      delay_seconds: delaySeconds.optional(),
    }),
  ],
  { error: 'content_type must be "json" or "text"' },
);

const sizedMessage = message.refine((m) => bodySize(m.body) <= MAX_MESSAGE_BYTES, {
  message: `a message body is at most ${MAX_MESSAGE_BYTES} bytes`,
  path: ['body'],
});

export const PushRequest = sizedMessage;
export type PushRequest = z.infer<typeof PushRequest>;

export const PushBatchRequest = z
  .strictObject({
    messages: z.array(sizedMessage).min(1).max(MAX_BATCH_SIZE),
    delay_seconds: delaySeconds.optional(),
  })
  .refine((batch) => batch.messages.reduce((sum, m) => sum + bodySize(m.body), 0) <= MAX_BATCH_BYTES, {
    message: `a batch is at most ${MAX_BATCH_BYTES} bytes`,
    path: ['messages'],
  });
export type PushBatchRequest = z.infer<typeof PushBatchRequest>;

export const PullRequest = z.strictObject({
  batch_size: z.int().min(1).max(MAX_BATCH_SIZE).optional(),
  visibility_timeout_ms: z.int().min(1).max(MAX_VISIBILITY_TIMEOUT_MS).optional(),
});
export type PullRequest = z.infer<typeof PullRequest>;

const leaseId = z.string().min(1);

export const AckRequest = z.strictObject({
  acks: z.array(z.strictObject({ lease_id: leaseId })).optional(),
  retries: z.array(z.strictObject({ lease_id: leaseId, delay_seconds: delaySeconds.optional() })).optional(),
});
export type AckRequest = z.infer<typeof AckRequest>;

/** Each issue of a failed parse as "field: rule", for the 400 answer and the violations list. */
export function describeIssues(error: z.ZodError): string[] {
  return error.issues.map(
    (issue) => `${issue.path.length > 0 ? issue.path.join('.') : 'body'}: ${issue.message}`,
  );
}
