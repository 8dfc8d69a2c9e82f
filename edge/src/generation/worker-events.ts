// Follows a job's event stream on the gpu-worker running it (GET /v1/jobs/:id/events, signed with
// the job's id) and hands each event on. Progress is best effort: a stream that fails or ends
// early leaves the job itself untouched, since its POST decides the outcome.
import { jobActionMessage, signRequest } from '@latent-edge/shared/crypto/request-signing';
import { GpuJobEvent } from '@latent-edge/shared/protocol/job-events';
import { readEvents } from '@latent-edge/shared/sse/server-sent-events';

export type ProgressListener = (event: GpuJobEvent) => void;

export async function followWorkerEvents(
  worker: string,
  secret: string,
  jobId: string,
  onEvent: ProgressListener,
  signal: AbortSignal,
): Promise<void> {
  try {
    const headers = await signRequest(secret, jobActionMessage('events', jobId));
    const response = await fetch(`${worker}/v1/jobs/${encodeURIComponent(jobId)}/events`, {
      headers: { ...headers },
      signal,
    });
    if (!response.ok || !response.body) {
      await response.body?.cancel();
      return;
    }
    for await (const message of readEvents(response.body)) {
      if (signal.aborted) return;
      let data: unknown;
      try {
        data = JSON.parse(message.data);
      } catch {
        continue;
      }
      const event = GpuJobEvent.safeParse({ ...(data as object), type: message.event });
      if (event.success) onEvent(event.data);
    }
  } catch {
    // Aborted when the job's POST settled, or the stream broke: nothing more to relay.
  }
}

/** How long the stream may trail the job's answer: the worker ends it right after the job. */
const DRAIN_MS = 2000;

/**
 * Follows the worker of the current attempt: a retry on another worker stops following the
 * first. `stop()`, once the job's POST has settled, lets the stream deliver what the worker sent
 * before its answer (the last steps) and then ends it.
 */
export function workerEventsFollower(secret: string, jobId: string, onEvent: ProgressListener) {
  let current: AbortController | undefined;
  const following: Promise<void>[] = [];
  return {
    attempt(worker: string): void {
      current?.abort();
      current = new AbortController();
      following.push(followWorkerEvents(worker, secret, jobId, onEvent, current.signal));
    },
    async stop(): Promise<void> {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const drained = Promise.all(following);
      await Promise.race([drained, new Promise((resolve) => (timer = setTimeout(resolve, DRAIN_MS)))]);
      clearTimeout(timer);
      current?.abort();
      await drained;
    },
  };
}
