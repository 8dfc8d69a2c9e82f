// The pull loop's pure decisions, without queues or an edge: free slots, which tier goes first,
// the idle wait, what a failure means for the edge and the queue, what a progress post carries,
// and how a pulled body becomes a DispatchMessage.
import { describe, expect, it } from 'vitest';
import { EdgeCallError } from '../src/pull/edge-client.ts';
import { classifyFailure, planFailure, retryDelaySeconds } from '../src/pull/failure-policy.ts';
import { freeSlots } from '../src/pull/free-slots.ts';
import {
  BUSY_RECHECK_MS,
  FIRST_IDLE_WAIT_MS,
  IdleBackoff,
  RECENT_JOB_WINDOW_MS,
} from '../src/pull/idle-backoff.ts';
import { decodeMessageBody } from '../src/pull/message-body.ts';
import { MAX_EVENTS_PER_POST, ProgressBatch } from '../src/pull/progress-batch.ts';
import { TierPicker } from '../src/pull/tier-picker.ts';
import { cancelled, deadlineExceeded, ServiceError } from '../src/service/service-error.ts';

const message = {
  job_id: '7f1c2b9e-4d3a-4e5f-9a8b-0c1d2e3f4a5b',
  model: 'tiny-sd',
  revision: 'abc',
  tier: 'interactive',
  deadline: 1_900_000_000_000,
};

describe('free slots', () => {
  it('are MAX_BATCH less running, starting, waiting and held jobs, never below zero', () => {
    expect(freeSlots({ maxBatch: 8, running: 2, starting: 1, waiting: 1, held: 3 })).toBe(1);
    expect(freeSlots({ maxBatch: 4, running: 0, starting: 0, waiting: 0, held: 0 })).toBe(4);
    expect(freeSlots({ maxBatch: 2, running: 2, starting: 0, waiting: 5, held: 0 })).toBe(0);
  });
});

describe('tier picker', () => {
  it('starts 4 of every 5 rounds with interactive at weight 4', () => {
    const picker = new TierPicker(4, ['interactive', 'batch']);
    const firsts = Array.from({ length: 10 }, () => picker.next()[0]);
    expect(firsts.filter((t) => t === 'interactive')).toHaveLength(8);
    expect(firsts.slice(0, 5)).toEqual(['interactive', 'interactive', 'interactive', 'interactive', 'batch']);
  });

  it('always offers the other tier second, and a lone tier alone', () => {
    const picker = new TierPicker(1, ['interactive', 'batch']);
    expect(picker.next()).toEqual(['interactive', 'batch']);
    expect(picker.next()).toEqual(['batch', 'interactive']);
    expect(new TierPicker(4, ['batch']).next()).toEqual(['batch']);
  });
});

describe('idle backoff', () => {
  it('doubles up to the maximum while idle and starts again after a round with messages', () => {
    const backoff = new IdleBackoff(300);
    const idle = () => backoff.afterEmptyRound(false);
    expect([idle(), idle(), idle(), idle(), idle(), idle()]).toEqual([
      FIRST_IDLE_WAIT_MS,
      FIRST_IDLE_WAIT_MS * 2,
      FIRST_IDLE_WAIT_MS * 4,
      FIRST_IDLE_WAIT_MS * 8,
      FIRST_IDLE_WAIT_MS * 16,
      300,
    ]);
    expect(idle()).toBe(300);
    backoff.reset();
    expect(idle()).toBe(FIRST_IDLE_WAIT_MS);
  });

  it('rechecks at a fixed pace while jobs run, so a long job does not leave the idle wait at its maximum', () => {
    const backoff = new IdleBackoff(2_000);
    const waitsWhileBusy = Array.from({ length: 20 }, () => backoff.afterEmptyRound(true));
    expect(new Set(waitsWhileBusy)).toEqual(new Set([BUSY_RECHECK_MS]));
    // The job ends, the worker is idle: the first wait is the shortest.
    backoff.jobEnded();
    expect(backoff.afterEmptyRound(false)).toBe(FIRST_IDLE_WAIT_MS);
    // A maximum below the busy pace wins.
    expect(new IdleBackoff(20).afterEmptyRound(true)).toBe(20);
  });

  it('keeps the shortest wait for a while after a job ends, then doubles again', () => {
    let now = 1_000;
    const backoff = new IdleBackoff(200, () => now);
    const idle = (elapsedMs: number) => {
      now += elapsedMs;
      return backoff.afterEmptyRound(false);
    };
    expect([idle(0), idle(0), idle(0)]).toEqual([1, 2, 4].map((x) => x * FIRST_IDLE_WAIT_MS));
    backoff.jobEnded();
    // Inside the window every empty round waits the least, however many there were.
    const inWindow = Array.from({ length: 8 }, () => idle(RECENT_JOB_WINDOW_MS / 10));
    expect(new Set(inWindow)).toEqual(new Set([FIRST_IDLE_WAIT_MS]));
    // Past it the waits double from there, as for any idle worker.
    now += RECENT_JOB_WINDOW_MS;
    expect([idle(0), idle(0)]).toEqual([FIRST_IDLE_WAIT_MS * 2, FIRST_IDLE_WAIT_MS * 4]);
    // A round with messages alone does not open the window.
    backoff.reset();
    expect([idle(0), idle(0)]).toEqual([FIRST_IDLE_WAIT_MS, FIRST_IDLE_WAIT_MS * 2]);
  });
});

describe('failure policy', () => {
  it('retries what never started: busy, draining, another revision, the edge unreachable', () => {
    const busy = new ServiceError(503, 'queue_full', 'full', { retryAfterSeconds: 7 });
    expect(planFailure(classifyFailure(busy), 1, 4)).toEqual({
      report: { code: 'queue_full', status: 503, message: 'full', retryable: true },
      queue: { kind: 'retry', delaySeconds: 7 },
    });
    const revision = new ServiceError(409, 'revision_mismatch', 'other', { field: 'revision' });
    expect(planFailure(classifyFailure(revision), 2, 4).queue).toEqual({ kind: 'retry', delaySeconds: 2 });
    expect(classifyFailure(new EdgeCallError('claim: ECONNREFUSED')).retryable).toBe(true);
  });

  it("makes the job's own errors final, and acks them", () => {
    for (const error of [
      new ServiceError(400, 'invalid_request', 'init_image: not an image', { field: 'init_image' }),
      deadlineExceeded('j', 1000),
      cancelled('j'),
      new ServiceError(500, 'generation_failed', 'boom'),
      new Error('unexpected'),
    ]) {
      const plan = planFailure(classifyFailure(error), 1, 4);
      expect(plan.report.retryable).toBe(false);
      expect(plan.queue).toEqual({ kind: 'ack' });
    }
    expect(
      planFailure(classifyFailure(new ServiceError(400, 'x', 'y', { field: 'f' })), 1, 4).report.field,
    ).toBe('f');
  });

  it('reports a retryable failure on the last allowed delivery as final, saying so', () => {
    const plan = planFailure(classifyFailure(new ServiceError(503, 'draining', 'shutting down')), 4, 4);
    expect(plan.report).toEqual({
      code: 'draining',
      status: 503,
      message: 'gave up after 4 deliveries: shutting down',
      retryable: false,
    });
    expect(plan.queue).toEqual({ kind: 'ack' });
  });

  it('waits 1, 2, 4 … s between deliveries without a Retry-After, capped at a minute', () => {
    expect([1, 2, 3, 4, 10].map((n) => retryDelaySeconds(n))).toEqual([1, 2, 4, 8, 60]);
    expect(retryDelaySeconds(3, 0.2)).toBe(1);
  });
});

describe('progress batch', () => {
  const progress = (step: number) =>
    ({ type: 'progress', step, steps: 9, elapsed_ms: 1, eta_ms: 1 }) as const;

  it('keeps the latest step and preview and every queue position, in order, then empties', () => {
    const batch = new ProgressBatch();
    expect(batch.empty).toBe(true);
    batch.add({ type: 'queued', position: 2 });
    batch.add({ type: 'queued', position: 1 });
    batch.add(progress(1));
    batch.add(progress(2));
    batch.add({ type: 'done' });
    expect(batch.take()).toEqual([
      { type: 'queued', position: 2 },
      { type: 'queued', position: 1 },
      progress(2),
    ]);
    expect(batch.empty).toBe(true);
    expect(batch.take()).toEqual([]);
  });

  it('never carries more than the protocol allows', () => {
    const batch = new ProgressBatch();
    for (let i = 200; i >= 1; i--) batch.add({ type: 'queued', position: i });
    batch.add(progress(0));
    const events = batch.take();
    expect(events).toHaveLength(MAX_EVENTS_PER_POST);
    expect(events.at(-2)).toEqual({ type: 'queued', position: 1 });
    expect(events.at(-1)).toEqual(progress(0));
  });
});

describe('message body', () => {
  const base64 = Buffer.from(JSON.stringify(message)).toString('base64');

  it('reads json bodies base64-encoded and text bodies as they are', () => {
    expect(decodeMessageBody({ body: base64, metadata: { 'CF-Content-Type': 'json' } })).toEqual({
      ok: true,
      message,
    });
    expect(
      decodeMessageBody({ body: JSON.stringify(message), metadata: { 'CF-Content-Type': 'text' } }),
    ).toEqual({
      ok: true,
      message,
    });
    expect(decodeMessageBody({ body: base64 })).toEqual({ ok: true, message });
    expect(decodeMessageBody({ body: JSON.stringify(message) })).toEqual({ ok: true, message });
  });

  it('refuses bodies that are not a dispatch message, naming why', () => {
    const notJson = decodeMessageBody({ body: 'hello there', metadata: { 'CF-Content-Type': 'text' } });
    expect(notJson).toEqual({ ok: false, reason: expect.stringContaining('not JSON') });
    const wrong = Buffer.from(JSON.stringify({ ...message, tier: 'urgent' })).toString('base64');
    const refused = decodeMessageBody({ body: wrong, metadata: { 'CF-Content-Type': 'json' } });
    expect(refused.ok).toBe(false);
    expect(!refused.ok && refused.reason).toContain('tier');
  });
});
