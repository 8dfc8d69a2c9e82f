// The per-job event fan-out inside the JobState Durable Object: ids, order, resume after
// Last-Event-ID, superseded previews, snapshots for clients too far behind, and the end.
import { describe, expect, it } from 'vitest';
import { readEvents } from '../../shared/src/sse/server-sent-events.ts';
import { JobEventHub, type JobStreamEvent } from '../src/jobs/job-event-hub.ts';

/** Reads `count` events from a stream (or all, when it ends first). */
async function take(stream: ReadableStream<Uint8Array>, count = Number.POSITIVE_INFINITY) {
  const out: { id?: string; event?: string; data: unknown }[] = [];
  if (count === 0) return out;
  for await (const message of readEvents(stream)) {
    out.push({ id: message.id, event: message.event, data: JSON.parse(message.data) });
    if (out.length >= count) break;
  }
  return out;
}

const noSnapshot = (): JobStreamEvent[] => [];

describe('JobEventHub', () => {
  it('numbers events from where the stored id left off and sends them to open streams in order', async () => {
    const hub = new JobEventHub(41);
    const stream = hub.open(undefined, noSnapshot, false);
    hub.publish('progress', { step: 1 });
    hub.publish('progress', { step: 2 });
    hub.publish('done', { status: 'succeeded' }, true);
    expect(await take(stream)).toEqual([
      { id: '42', event: 'progress', data: { step: 1 } },
      { id: '43', event: 'progress', data: { step: 2 } },
      { id: '44', event: 'done', data: { status: 'succeeded' } },
    ]);
    expect(hub.openStreams).toBe(0);
  });

  it('resumes after Last-Event-ID with only the latest of the missed previews', async () => {
    const hub = new JobEventHub();
    for (let step = 1; step <= 6; step++) {
      hub.publish('progress', { step });
      if (step % 2 === 0) hub.publish('preview', { step });
    }
    // ids: 1 p1, 2 p2, 3 v2, 4 p3, 5 p4, 6 v4, 7 p5, 8 p6, 9 v6
    const resumed = await take(hub.open(4, noSnapshot, false), 4);
    expect(resumed.map((e) => [e.id, e.event, (e.data as { step: number }).step])).toEqual([
      ['5', 'progress', 4],
      ['7', 'progress', 5],
      ['8', 'progress', 6],
      ['9', 'preview', 6],
    ]);
  });

  it('gives a snapshot to a client with no Last-Event-ID or one the log no longer has', async () => {
    const hub = new JobEventHub();
    for (let step = 1; step <= 500; step++) hub.publish('progress', { step });
    const snapshot = (): JobStreamEvent[] => [{ id: 500, event: 'progress', data: { step: 500 } }];
    expect(await take(hub.open(3, snapshot, false), 1)).toEqual([
      { id: '500', event: 'progress', data: { step: 500 } },
    ]);
    expect(await take(hub.open(undefined, snapshot, false), 1)).toEqual([
      { id: '500', event: 'progress', data: { step: 500 } },
    ]);
    // An id from the future (another job's, or a restarted object's) is not trusted either.
    expect((await take(hub.open(9999, snapshot, false), 1))[0].id).toBe('500');
  });

  it('closes a finished job stream after its backlog, and forgets streams whose reader left', async () => {
    const hub = new JobEventHub();
    hub.publish('done', { status: 'succeeded' }, true);
    const ended = hub.open(undefined, () => [{ id: 1, event: 'done', data: { status: 'succeeded' } }], true);
    expect(await take(ended)).toEqual([{ id: '1', event: 'done', data: { status: 'succeeded' } }]);

    const live = hub.open(undefined, noSnapshot, false);
    expect(hub.openStreams).toBe(1);
    await live.cancel();
    expect(hub.openStreams).toBe(0);
    hub.publish('progress', { step: 1 }); // nobody listening: no error
  });
});
