// The event streams of one job, inside its JobState Durable Object: every event gets the next id,
// goes to every open stream, and is kept in a short log so a client that reconnects with
// Last-Event-ID misses nothing that happened meanwhile. Older previews are superseded by newer
// ones, so a resume replays only the latest. A client too far behind (or after the object was
// evicted) gets a snapshot of where the job is instead.
import { formatEvent, KEEP_ALIVE } from '@latent-edge/shared/sse/server-sent-events';

export interface JobStreamEvent {
  id: number;
  event: string;
  data: unknown;
}

/** Events remembered for resumes; a 150-step job with previews every step still fits. */
const LOG_SIZE = 400;
export const KEEP_ALIVE_MS = 15_000;

interface Subscriber {
  controller: ReadableStreamDefaultController<Uint8Array>;
  keepAlive: ReturnType<typeof setInterval>;
}

const encoder = new TextEncoder();

export class JobEventHub {
  private readonly log: JobStreamEvent[] = [];
  private readonly subscribers = new Set<Subscriber>();

  constructor(private lastId = 0) {}

  get nextId(): number {
    return this.lastId + 1;
  }

  /** Sends an event to every open stream; with `final`, ends them after it. */
  publish(event: string, data: unknown, final = false): JobStreamEvent {
    const entry = { id: ++this.lastId, event, data };
    if (event === 'preview') {
      const older = this.log.findIndex((e) => e.event === 'preview');
      if (older >= 0) this.log.splice(older, 1);
    }
    this.log.push(entry);
    if (this.log.length > LOG_SIZE) this.log.shift();
    for (const subscriber of this.subscribers) {
      this.send(subscriber, entry);
      if (final) this.end(subscriber);
    }
    return entry;
  }

  /**
   * A stream that starts with what a client needs: the events after `lastEventId` when the log
   * still has them all, else `snapshot()` (where the job is now). `ended` streams close after that.
   */
  open(
    lastEventId: number | undefined,
    snapshot: () => JobStreamEvent[],
    ended: boolean,
  ): ReadableStream<Uint8Array> {
    const first = this.log[0]?.id ?? this.nextId;
    const resumable = lastEventId !== undefined && lastEventId >= first - 1 && lastEventId <= this.lastId;
    const backlog = resumable ? this.log.filter((e) => e.id > lastEventId) : snapshot();
    let subscriber: Subscriber | undefined;
    return new ReadableStream<Uint8Array>({
      start: (controller) => {
        subscriber = {
          controller,
          keepAlive: setInterval(() => controller.enqueue(encoder.encode(KEEP_ALIVE)), KEEP_ALIVE_MS),
        };
        for (const entry of backlog) this.send(subscriber, entry);
        if (ended) this.end(subscriber);
        else this.subscribers.add(subscriber);
      },
      cancel: () => {
        if (subscriber) this.drop(subscriber);
      },
    });
  }

  /** The latest event of a kind still in the log (e.g. the last preview, for a snapshot). */
  latest(event: string): JobStreamEvent | undefined {
    return this.log.findLast((e) => e.event === event);
  }

  get openStreams(): number {
    return this.subscribers.size;
  }

  private send(subscriber: Subscriber, entry: JobStreamEvent): void {
    subscriber.controller.enqueue(encoder.encode(formatEvent(entry)));
  }

  private end(subscriber: Subscriber): void {
    this.drop(subscriber);
    subscriber.controller.close();
  }

  private drop(subscriber: Subscriber): void {
    clearInterval(subscriber.keepAlive);
    this.subscribers.delete(subscriber);
  }
}
