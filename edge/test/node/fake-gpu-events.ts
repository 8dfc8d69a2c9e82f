// The fake gpu-worker's slow jobs and their events, as the real worker's GET /v1/jobs/:id/events
// sends them (gpu-worker/src/server/job-event-stream.ts): where the job is now (its latest event of
// each kind, no queue position once started), then each event as it happens, and the end of the
// stream after `done`. A stream asked for before its job's POST arrives waits for it (up to 2 s);
// a job that finished at once, or was refused, has none.
import { ReadableStream } from 'node:stream/web';
import type { GpuJob } from '../../../shared/src/protocol/gpu-job.ts';
import type { GpuJobEvent } from '../../../shared/src/protocol/job-events.ts';
import { formatEvent } from '../../../shared/src/sse/server-sent-events.ts';
import { solidWebp } from './webp.ts';

/** A job whose events can be followed; `undefined` for a job that has none (it finished at once). */
interface StreamedJob {
  latest: Map<GpuJobEvent['type'], GpuJobEvent>;
  listeners: Set<(event: GpuJobEvent) => void>;
  /** POST /v1/jobs/:id/interrupt came: the job ends after its current step. */
  interrupted?: boolean;
}

const streamedJobs = new Map<string, StreamedJob | undefined>();
const arrivalWaiters = new Map<string, (() => void)[]>();

function arrived(jobId: string, job: StreamedJob | undefined): void {
  streamedJobs.set(jobId, job);
  for (const wake of arrivalWaiters.get(jobId) ?? []) wake();
  arrivalWaiters.delete(jobId);
}

function emit(job: StreamedJob, event: GpuJobEvent): void {
  job.latest.set(event.type, event);
  for (const listener of job.listeners) listener(event);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Ends a running job after its current step, as the real worker's interrupt does; false when no
 * such job is running.
 */
export function interruptStreamed(jobId: string): boolean {
  const streamed = streamedJobs.get(jobId);
  if (!streamed) return false;
  streamed.interrupted = true;
  return true;
}

/**
 * Runs a job `stepMs` per step, emitting its events as the real worker does; the step an
 * interrupt ended it at, or undefined when it ran to the end.
 */
export async function runStreamed(job: GpuJob, stepMs: number): Promise<number | undefined> {
  const streamed: StreamedJob = { latest: new Map(), listeners: new Set() };
  arrived(job.job_id, streamed);
  const started = Date.now();
  emit(streamed, { type: 'queued', position: 1 });
  // Long enough for the edge's stream, opened beside the job, to be there from the start.
  await sleep(50);
  // The real worker's previews: at most 256 px on the longer side, the output's aspect.
  const scale = Math.min(1, 256 / Math.max(job.width, job.height));
  const [width, height] = [Math.round(job.width * scale), Math.round(job.height * scale)];
  let endedAt: number | undefined;
  for (let step = 0; step <= job.steps; step++) {
    if (streamed.interrupted) {
      endedAt = Math.max(0, step - 1); // steps 1..step-1 ran; none yet before the first
      break;
    }
    if (step > 0) await sleep(stepMs);
    const elapsed = Date.now() - started;
    const eta = step === 0 ? 0 : (elapsed / step) * (job.steps - step);
    emit(streamed, { type: 'progress', step, steps: job.steps, elapsed_ms: elapsed, eta_ms: eta });
    if (job.preview_every > 0 && step > 0 && step % job.preview_every === 0) {
      const grey = Math.round((255 * step) / job.steps);
      const webp = Buffer.from(solidWebp(width, height, [grey, grey, grey])).toString('base64');
      emit(streamed, {
        type: 'preview',
        step,
        steps: job.steps,
        width,
        height,
        image: `data:image/webp;base64,${webp}`,
      });
    }
  }
  emit(streamed, { type: 'done' });
  // Like the real worker, a finished job is forgotten once answered.
  streamedJobs.set(job.job_id, undefined);
  return endedAt;
}

/** The job, once its POST has arrived (waiting up to 2 s for it, as the real worker does). */
async function arrivedJob(jobId: string): Promise<StreamedJob | undefined> {
  if (!streamedJobs.has(jobId)) {
    await Promise.race([
      new Promise<void>((resolve) =>
        arrivalWaiters.set(jobId, [...(arrivalWaiters.get(jobId) ?? []), resolve]),
      ),
      sleep(2000),
    ]);
  }
  return streamedJobs.get(jobId);
}

/** A job that has arrived with nothing to stream: its stream, if asked for, is a 404. */
export function jobArrived(jobId: string): void {
  arrived(jobId, undefined);
}

/** The job's events as a text/event-stream body, or undefined when it has none. */
export async function jobEventStream(jobId: string): Promise<ReadableStream<Uint8Array> | undefined> {
  const job = await arrivedJob(jobId);
  if (!job) return undefined;
  const encoder = new TextEncoder();
  let listener: (event: GpuJobEvent) => void = () => {};
  return new ReadableStream<Uint8Array>({
    start(controller) {
      listener = (event) => {
        const { type, ...data } = event;
        controller.enqueue(encoder.encode(formatEvent({ event: type, data })));
        if (type === 'done' || type === 'failed' || type === 'cancelled') {
          job.listeners.delete(listener);
          controller.close();
        }
      };
      for (const type of ['queued', 'progress', 'preview', 'done'] as const) {
        const event = job.latest.get(type);
        if (event && !(type === 'queued' && job.latest.has('progress'))) listener(event);
      }
      if (!job.latest.has('done')) job.listeners.add(listener);
    },
    cancel() {
      job.listeners.delete(listener);
    },
  });
}
