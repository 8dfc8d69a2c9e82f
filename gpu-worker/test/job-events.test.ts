// A job's progress as the edge sees it: the real gpu-worker process, its signed event stream
// (GET /v1/jobs/:id/events), queue position → step i of N → done, preview frames, and cancel.
import { jobActionMessage, signRequest } from '@latent-edge/shared/crypto/request-signing';
import { GpuJobEvent } from '@latent-edge/shared/protocol/job-events';
import { readEvents } from '@latent-edge/shared/sse/server-sent-events';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type RunningWorker,
  startGpuWorker,
  TEST_GPU_SECRET,
} from '../../test/support/gpu-worker-process.ts';
import { generateOk, job, send } from './support/jobs.ts';

async function openEvents(url: string, id: string, secret = TEST_GPU_SECRET, signedFor = id) {
  return fetch(`${url}/v1/jobs/${encodeURIComponent(id)}/events`, {
    headers: { ...(await signRequest(secret, jobActionMessage('events', signedFor))) },
  });
}

/** Every event of a stream, validated by the shared schema, until the worker ends it. */
async function collect(response: Response, onEvent?: (event: GpuJobEvent) => void): Promise<GpuJobEvent[]> {
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toBe('text/event-stream');
  const events: GpuJobEvent[] = [];
  for await (const message of readEvents(response.body as ReadableStream<Uint8Array>)) {
    const event = GpuJobEvent.parse({ type: message.event, ...JSON.parse(message.data) });
    events.push(event);
    onEvent?.(event);
  }
  return events;
}

describe('gpu-worker job events', () => {
  let worker: RunningWorker;
  beforeAll(async () => {
    // One image per step, so a second job waits in the queue behind the first.
    worker = await startGpuWorker({ MAX_BATCH: '1' });
  });
  afterAll(() => worker?.stop());

  it('streams queue position, then every step in order with an ETA, then done', async () => {
    const first = job({ steps: 12 });
    const second = job({ steps: 6 });
    const firstDone = send(worker.url, first);
    const stream = openEvents(worker.url, second.job_id); // opened before its job arrives
    await new Promise((resolve) => setTimeout(resolve, 100));
    const secondDone = send(worker.url, second);
    const events = await collect(await stream);
    expect((await firstDone).status).toBe(200);
    expect((await secondDone).status).toBe(200);

    expect(events[0]).toEqual({ type: 'queued', position: 1 });
    const progress = events.filter((e) => e.type === 'progress');
    expect(progress.map((e) => e.step)).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect(progress.every((e) => e.steps === 6)).toBe(true);
    expect(progress.at(-1)?.eta_ms).toBe(0);
    expect(progress[3].eta_ms).toBeGreaterThan(0);
    const elapsed = progress.map((e) => e.elapsed_ms);
    expect([...elapsed].sort((a, b) => a - b)).toEqual(elapsed);
    expect(events.at(-1)).toEqual({ type: 'done' });
    expect(events.some((e) => e.type === 'preview')).toBe(false); // none asked for
  });

  it('sends preview frames every k steps as small WebP images of the output size', async () => {
    const spec = job({ steps: 8, preview_every: 2, width: 96, height: 64 });
    const stream = openEvents(worker.url, spec.job_id);
    const result = send(worker.url, spec);
    const events = await collect(await stream);
    expect((await result).status).toBe(200);
    const previews = events.filter((e) => e.type === 'preview');
    // Steps 2, 4 and 6 (none after the last step: the image itself comes next); a frame still
    // encoding when the next falls due is skipped, so at least one, all at multiples of 2.
    expect(previews.length).toBeGreaterThanOrEqual(1);
    for (const preview of previews) {
      expect([2, 4, 6]).toContain(preview.step);
      const bytes = Buffer.from(preview.image.slice('data:image/webp;base64,'.length), 'base64');
      const meta = await sharp(bytes).metadata();
      expect(meta.format).toBe('webp');
      expect([meta.width, meta.height]).toEqual([96, 64]);
      expect([preview.width, preview.height]).toEqual([96, 64]);
    }
  });

  it('ends the stream with cancelled within a step of a cancel, and the job returns no image', async () => {
    const spec = job({ steps: 150 });
    const stream = openEvents(worker.url, spec.job_id);
    const result = send(worker.url, spec);
    let cancelled: Promise<{ step: number }> | undefined;
    const events = await collect(await stream, (event) => {
      if (event.type === 'progress' && event.step === 3 && !cancelled) {
        cancelled = signRequest(TEST_GPU_SECRET, jobActionMessage('cancel', spec.job_id))
          .then((headers) =>
            fetch(`${worker.url}/v1/jobs/${spec.job_id}`, { method: 'DELETE', headers: { ...headers } }),
          )
          .then((r) => r.json() as Promise<{ step: number }>);
      }
    });
    expect(events.at(-1)).toEqual({ type: 'cancelled' });
    // The worker says which step the job had finished when the cancel arrived; at most the step
    // then in flight completes after it.
    const { step: stepAtCancel } = await (cancelled as Promise<{ step: number }>);
    const steps = events.filter((e) => e.type === 'progress').map((e) => e.step);
    expect(Math.max(...steps)).toBeLessThanOrEqual(stepAtCancel + 1);
    expect(Math.max(...steps)).toBeLessThan(150);
    const response = await result;
    expect(response.status).toBe(409);
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe('cancelled');
  });

  it('refuses streams signed with another secret or for another job, and unknown jobs', async () => {
    const spec = job({ steps: 4 });
    const result = send(worker.url, spec);
    const wrongSecret = await openEvents(worker.url, spec.job_id, 'another-secret-another-secret-1234');
    expect(wrongSecret.status).toBe(401);
    const otherJob = await openEvents(worker.url, spec.job_id, TEST_GPU_SECRET, 'another-job');
    expect(otherJob.status).toBe(401);
    const unsigned = await fetch(`${worker.url}/v1/jobs/${spec.job_id}/events`);
    expect(unsigned.status).toBe(401);
    expect((await result).status).toBe(200);
    const unknown = await openEvents(worker.url, 'no-such-job');
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toMatchObject({ error: { code: 'not_found' } });
  });

  it('leaves the job running when the stream reader goes away', async () => {
    const spec = job({ steps: 10 });
    const opening = openEvents(worker.url, spec.job_id);
    const result = send(worker.url, spec);
    const stream = await opening;
    expect(stream.status).toBe(200);
    await stream.body?.cancel();
    expect((await generateOk(worker.url, job({ steps: 2 }))).images).toHaveLength(1);
    expect((await result).status).toBe(200);
  });
});
