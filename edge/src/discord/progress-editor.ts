// Shows a running /imagine job in its deferred reply: the gpu-worker's events (relayed by
// runGeneration's onProgress) update a view, and the view is sent as an edit of @original,
// paced for Discord's per-message webhook rate limits (SD-NOTES §5.3, §5.7):
//   - the first edit comes one interval after the job starts, so a job done sooner (or answered
//     from the cache) goes straight to its image with a single edit;
//   - then at most one edit per interval, counted from Discord's answer to the previous one, so
//     whatever the network does Discord never sees two closer together; never two in flight;
//   - an edit is sent only when there is something new, with the latest state (steps skipped in
//     between are not queued up);
//   - after a 429, nothing until Discord's retry_after has passed; a failed edit is logged and
//     forgotten: progress is best effort and never fails the job;
//   - `finish()` stops the edits and waits for the one in flight, so the final message (image or
//     failure) is always the last edit.
import type { GpuJobEvent } from '@latent-edge/shared/protocol/job-events';
import { DiscordApiError, MAX_INLINE_WAIT_SECONDS } from './discord-rest.ts';
import type { ProgressView } from './progress-message.ts';

/** Progress edits per job at most: each is a subrequest, and a Workers invocation has 50 on the
 * Free plan (SD-NOTES §6), which the job itself and its final edit also need. */
export const MAX_PROGRESS_EDITS = 30;

/** A preview frame every this many steps: about 8 frames a job, whatever its length. */
export function previewEvery(steps: number): number {
  return Math.max(1, Math.round(steps / 8));
}

function dataUrlBytes(url: string): Uint8Array {
  const binary = atob(url.slice(url.indexOf(',') + 1));
  return Uint8Array.from(binary, (c) => c.charCodeAt(0));
}

export interface ProgressEditor {
  listener: (event: GpuJobEvent) => void;
  /** No edit after this; resolves once the edit in flight (if any) is answered. */
  finish: () => Promise<void>;
}

/** `edit` sends one view; it rejects with DiscordApiError when Discord refuses it. */
export function progressEditor(
  edit: (view: ProgressView) => Promise<void>,
  intervalMs: number,
  jobId: string,
): ProgressEditor {
  const view: ProgressView = {};
  let version = 0;
  let shownVersion = 0;
  let edits = 0;
  let closed = false;
  let inFlight: Promise<void> | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  /** No edit before this; one interval after the start, then after each answer or a 429's wait. */
  let notBefore = Date.now() + intervalMs;
  let rateLimitedUntil = 0;

  function schedule(): void {
    if (closed || inFlight || timer || version === shownVersion || edits >= MAX_PROGRESS_EDITS) return;
    const wait = notBefore - Date.now();
    if (wait > 0) {
      timer = setTimeout(() => {
        timer = undefined;
        schedule();
      }, wait);
      return;
    }
    send();
  }

  function send(): void {
    const sending = version;
    edits++;
    inFlight = edit({ ...view })
      .then(
        () => {
          shownVersion = sending;
        },
        (error: unknown) => {
          if (error instanceof DiscordApiError && error.status === 429) {
            // Retried with the then-latest view once Discord allows it.
            rateLimitedUntil = Date.now() + (error.retryAfterSeconds ?? intervalMs / 1000) * 1000;
            notBefore = Math.max(notBefore, rateLimitedUntil);
            return;
          }
          shownVersion = sending;
          // Token expired or message deleted: the final edit will find out too; stop here.
          if (error instanceof DiscordApiError && error.gone) closed = true;
          console.warn(`discord job ${jobId}: progress edit failed: ${(error as Error).message}`);
        },
      )
      .finally(() => {
        inFlight = undefined;
        notBefore = Math.max(notBefore, Date.now() + intervalMs);
        schedule();
      });
  }

  function close(): void {
    closed = true;
    clearTimeout(timer);
    timer = undefined;
  }

  function listener(event: GpuJobEvent): void {
    if (closed) return;
    switch (event.type) {
      case 'queued':
        view.queuePosition = event.position;
        break;
      case 'progress':
        view.queuePosition = undefined;
        view.step = event.step;
        view.steps = event.steps;
        view.etaMs = event.eta_ms;
        break;
      case 'preview':
        view.preview = dataUrlBytes(event.image);
        break;
      default:
        // done, failed or cancelled: the final message comes next, nothing is worth an edit now.
        close();
        return;
    }
    version++;
    schedule();
  }

  async function finish(): Promise<void> {
    close();
    await inFlight;
    // The final edit shares the message's rate limit: wait out a short 429 rather than meet it
    // again (a long one is the final edit's to handle, through the queue).
    const wait = rateLimitedUntil - Date.now();
    if (wait > 0 && wait <= MAX_INLINE_WAIT_SECONDS * 1000) {
      await new Promise((resolve) => setTimeout(resolve, wait));
    }
  }

  return { listener, finish };
}
