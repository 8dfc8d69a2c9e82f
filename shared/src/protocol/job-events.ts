// A job's progress as the gpu-worker streams it (GET /v1/jobs/:id/events, server-sent events: the
// event name is `type`, the data is the rest as JSON). The edge relays the same events to clients,
// with the job as GET /v1/jobs/:id shows it on the final one.
import { z } from 'zod';

export const QueuedEvent = z.strictObject({
  type: z.literal('queued'),
  /** 1 = next to start. */
  position: z.int().min(1),
});

export const ProgressEvent = z.strictObject({
  type: z.literal('progress'),
  /** Denoising steps done, of `steps`. */
  step: z.int().min(0),
  steps: z.int().min(1),
  elapsed_ms: z.number().min(0),
  /** Remaining denoising time at the pace so far (decoding not included). */
  eta_ms: z.number().min(0),
});

export const PreviewEvent = z.strictObject({
  type: z.literal('preview'),
  step: z.int().min(1),
  steps: z.int().min(1),
  width: z.int().min(1),
  height: z.int().min(1),
  /** The current estimate of the final image: a small WebP as a data: URL. */
  image: z.string().startsWith('data:image/webp;base64,'),
});

export const DoneEvent = z.strictObject({ type: z.literal('done') });

export const FailedEvent = z.strictObject({
  type: z.literal('failed'),
  code: z.string(),
  message: z.string(),
});

export const CancelledEvent = z.strictObject({ type: z.literal('cancelled') });

export const GpuJobEvent = z.discriminatedUnion('type', [
  QueuedEvent,
  ProgressEvent,
  PreviewEvent,
  DoneEvent,
  FailedEvent,
  CancelledEvent,
]);
export type GpuJobEvent = z.infer<typeof GpuJobEvent>;

export const FINAL_EVENT_TYPES: ReadonlySet<GpuJobEvent['type']> = new Set(['done', 'failed', 'cancelled']);
