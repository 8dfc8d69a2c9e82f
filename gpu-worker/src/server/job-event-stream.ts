// A job's events as a text/event-stream body: where the job is now, then each event as it happens,
// a keep-alive comment while nothing does, and the end of the stream after the job's last event.
// The client going away unsubscribes; the job itself goes on (its POST decides its fate).
import { FINAL_EVENT_TYPES } from '@latent-edge/shared/protocol/job-events';
import { formatEvent, KEEP_ALIVE } from '@latent-edge/shared/sse/server-sent-events';
import type { Job, JobEvent } from '../service/job.ts';

export const KEEP_ALIVE_MS = 15_000;

export function jobEventStream(job: Job, signal: AbortSignal): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  let close = () => {};
  return new ReadableStream<Uint8Array>({
    start(controller) {
      let closed = false;
      const keepAlive = setInterval(() => controller.enqueue(encoder.encode(KEEP_ALIVE)), KEEP_ALIVE_MS);
      close = () => {
        if (closed) return;
        closed = true;
        clearInterval(keepAlive);
        unsubscribe();
        signal.removeEventListener('abort', stop);
      };
      const stop = () => {
        if (closed) return;
        close();
        controller.close();
      };
      const send = (event: JobEvent) => {
        if (closed) return;
        const { type, ...data } = event;
        controller.enqueue(encoder.encode(formatEvent({ event: type, data })));
        if (FINAL_EVENT_TYPES.has(type)) queueMicrotask(stop);
      };
      const unsubscribe = job.subscribe(send);
      signal.addEventListener('abort', stop, { once: true });
    },
    cancel() {
      close();
    },
  });
}
