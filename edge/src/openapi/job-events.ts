// GET /v1/jobs/{id}/events: a job's progress as server-sent events (WHATWG HTML §9.2). The events
// are the gpu-worker's own (shared/src/protocol/job-events.ts), relayed by the job's JobState
// Durable Object: the SSE event name is the event's `type`, its one `data:` line the rest as JSON,
// and the final event (done, failed or cancelled) carries the job as GET /v1/jobs/{id} shows it.
import { PreviewEvent, ProgressEvent, QueuedEvent } from '@latent-edge/shared/protocol/job-events';
import { z } from 'zod';
import { JobView } from './response-schemas.ts';

export const JobQueuedEvent = QueuedEvent.omit({ type: true });
export const JobProgressEvent = ProgressEvent.omit({ type: true });
export const JobPreviewEvent = PreviewEvent.omit({ type: true });

const event = <T extends z.ZodType>(name: string, data: T, description: string) =>
  z.strictObject({ event: z.literal(name), data }).describe(description);

/** One event of the stream: its `event:` name and the JSON of its `data:` line. */
export const JobEvent = z.discriminatedUnion('event', [
  event('queued', JobQueuedEvent, 'Waiting for a gpu-worker; `position` 1 is next to start.'),
  event('progress', JobProgressEvent, 'After each denoising step.'),
  event(
    'preview',
    JobPreviewEvent,
    'Every `preview_every` steps, when the job asked for previews: a small WebP.',
  ),
  event('done', JobView, 'The job succeeded: the job with its images; the stream ends.'),
  event('failed', JobView, 'The job failed: the job with its error; the stream ends.'),
  event('cancelled', JobView, 'The job was cancelled; the stream ends.'),
]);
