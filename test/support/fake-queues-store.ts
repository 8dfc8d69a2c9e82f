// The queues behind the fake Cloudflare Queues API (fake-queues.ts), without HTTP: what a message
// goes through with an HTTP pull consumer (developers.cloudflare.com/queues/configuration/
// pull-consumers). A pull leases a message until its visibility timeout; unacked, it becomes
// available again. Every delivery counts an attempt (the first is 1). A retry makes it available
// after its delay. A message is delivered at most 1 + max_retries times (Cloudflare's meaning of
// max_retries: retries after the first delivery); when it would be delivered once more, or is
// retried after its last delivery, it moves to the dead-letter queue, where it starts again at
// attempt 0 with its id, body and timestamp, as Miniflare's broker does, or is dropped when the
// queue has none. An ack after the visibility timeout is accepted as long as the message has not
// been delivered again since (its lease is still the latest); any other lease is a warning.
// Time is read from `now`, so a test can move a manual clock past a timeout instead of waiting.
import { randomBytes } from 'node:crypto';

export interface QueueConfig {
  name: string;
  /** Retries after the first delivery before the message is dead-lettered (Cloudflare's default 3). */
  maxRetries?: number;
  /** Where exhausted messages go; created as a queue if not configured itself. Unset: dropped. */
  deadLetterQueue?: string;
}

export type ContentType = 'json' | 'text';

export type MessageState = 'available' | 'delayed' | 'leased' | 'acked' | 'dead-lettered' | 'dropped';

export interface StoredMessage {
  id: string;
  /** The body exactly as a pull returns it: base64 of the UTF-8 JSON for json, the text for text. */
  body: string;
  contentType: ContentType;
  timestampMs: number;
  attempts: number;
  availableAtMs: number;
  /** The latest delivery's lease; it stays valid for a late ack until the next delivery. */
  leaseId?: string;
  leaseExpiresAtMs?: number;
  settled?: 'acked' | 'dead-lettered' | 'dropped';
}

export interface PushedMessage {
  body: unknown;
  contentType: ContentType;
  delaySeconds?: number;
}

export interface PulledMessage {
  id: string;
  body: string;
  attempts: number;
  lease_id: string;
  timestamp_ms: number;
  metadata: Record<string, string>;
}

export interface AckResult {
  ackCount: number;
  retryCount: number;
  warnings: Record<string, string>;
}

export interface QueueStats {
  /** Unacknowledged messages: available, delayed and leased (Cloudflare's backlog count). */
  backlog: number;
  available: number;
  delayed: number;
  leased: number;
  /** Deliveries made (one message delivered twice counts 2). */
  delivered: number;
  acked: number;
  retried: number;
  deadLettered: number;
  dropped: number;
}

interface Queue {
  config: Required<Omit<QueueConfig, 'deadLetterQueue'>> & { deadLetterQueue?: string };
  messages: StoredMessage[];
  counts: Pick<QueueStats, 'delivered' | 'acked' | 'retried' | 'deadLettered' | 'dropped'>;
}

const DEFAULT_MAX_RETRIES = 3;

const newId = () => randomBytes(16).toString('hex');

function encodeBody(body: unknown, contentType: ContentType): string {
  if (contentType === 'text') return body as string;
  return Buffer.from(JSON.stringify(body), 'utf8').toString('base64');
}

export class FakeQueueStore {
  readonly #queues = new Map<string, Queue>();
  readonly #now: () => number;

  constructor(configs: QueueConfig[], now: () => number) {
    this.#now = now;
    for (const config of configs) this.#add(config);
    for (const config of configs) {
      if (config.deadLetterQueue && !this.#queues.has(config.deadLetterQueue)) {
        this.#add({ name: config.deadLetterQueue });
      }
    }
  }

  #add(config: QueueConfig): void {
    if (this.#queues.has(config.name)) throw new Error(`queue ${config.name} is configured twice`);
    this.#queues.set(config.name, {
      config: { maxRetries: DEFAULT_MAX_RETRIES, ...config },
      messages: [],
      counts: { delivered: 0, acked: 0, retried: 0, deadLettered: 0, dropped: 0 },
    });
  }

  names(): string[] {
    return [...this.#queues.keys()];
  }

  has(name: string): boolean {
    return this.#queues.has(name);
  }

  #queue(name: string): Queue {
    const queue = this.#queues.get(name);
    if (!queue) throw new Error(`no queue named ${name}`);
    return queue;
  }

  #state(message: StoredMessage, now: number): MessageState {
    if (message.settled) return message.settled;
    if (message.leaseExpiresAtMs !== undefined && message.leaseExpiresAtMs > now) return 'leased';
    return message.availableAtMs > now ? 'delayed' : 'available';
  }

  push(name: string, messages: PushedMessage[]): void {
    const queue = this.#queue(name);
    const now = this.#now();
    for (const message of messages) {
      queue.messages.push({
        id: newId(),
        body: encodeBody(message.body, message.contentType),
        contentType: message.contentType,
        timestampMs: now,
        attempts: 0,
        availableAtMs: now + (message.delaySeconds ?? 0) * 1000,
      });
    }
  }

  /** Moves an exhausted message on: to the dead-letter queue with a fresh start, or away. */
  #deadLetter(queue: Queue, message: StoredMessage): void {
    const target = queue.config.deadLetterQueue;
    message.leaseExpiresAtMs = undefined;
    if (target === undefined) {
      message.settled = 'dropped';
      queue.counts.dropped++;
      return;
    }
    message.settled = 'dead-lettered';
    queue.counts.deadLettered++;
    this.#queue(target).messages.push({
      ...message,
      attempts: 0,
      availableAtMs: this.#now(),
      leaseId: undefined,
      leaseExpiresAtMs: undefined,
      settled: undefined,
    });
  }

  pull(name: string, batchSize: number, visibilityTimeoutMs: number): PulledMessage[] {
    const queue = this.#queue(name);
    const now = this.#now();
    // Oldest-available first; Cloudflare promises no order, but a stable one keeps tests readable.
    const ready = queue.messages
      .filter((message) => this.#state(message, now) === 'available')
      .sort((a, b) => a.availableAtMs - b.availableAtMs);
    const pulled: PulledMessage[] = [];
    for (const message of ready) {
      if (pulled.length === batchSize) break;
      if (message.attempts > queue.config.maxRetries) {
        this.#deadLetter(queue, message);
        continue;
      }
      message.attempts++;
      message.leaseId = `lease-${newId()}`;
      message.leaseExpiresAtMs = now + visibilityTimeoutMs;
      queue.counts.delivered++;
      pulled.push({
        id: message.id,
        body: message.body,
        attempts: message.attempts,
        lease_id: message.leaseId,
        timestamp_ms: message.timestampMs,
        metadata: { 'CF-sourceMessageSource': 'api', 'CF-Content-Type': message.contentType },
      });
    }
    return pulled;
  }

  /** The unsettled message whose latest delivery holds `leaseId`, if any. */
  #byLease(queue: Queue, leaseId: string): StoredMessage | undefined {
    return queue.messages.find((message) => !message.settled && message.leaseId === leaseId);
  }

  ack(name: string, acks: string[], retries: { leaseId: string; delaySeconds?: number }[]): AckResult {
    const queue = this.#queue(name);
    const now = this.#now();
    const result: AckResult = { ackCount: 0, retryCount: 0, warnings: {} };
    const unknown = (leaseId: string) => {
      result.warnings[leaseId] = 'lease not found: unknown, already acknowledged, or redelivered since';
    };
    for (const leaseId of acks) {
      const message = this.#byLease(queue, leaseId);
      if (!message) {
        unknown(leaseId);
        continue;
      }
      message.settled = 'acked';
      message.leaseExpiresAtMs = undefined;
      queue.counts.acked++;
      result.ackCount++;
    }
    for (const { leaseId, delaySeconds } of retries) {
      const message = this.#byLease(queue, leaseId);
      if (!message) {
        unknown(leaseId);
        continue;
      }
      queue.counts.retried++;
      result.retryCount++;
      if (message.attempts > queue.config.maxRetries) {
        this.#deadLetter(queue, message);
        continue;
      }
      message.leaseExpiresAtMs = undefined;
      message.availableAtMs = now + (delaySeconds ?? 0) * 1000;
    }
    return result;
  }

  /** Unacknowledged messages, the number a pull reports as `message_backlog_count`. */
  backlog(name: string): number {
    return this.stats(name).backlog;
  }

  stats(name: string): QueueStats {
    const queue = this.#queue(name);
    const now = this.#now();
    const states = queue.messages.map((message) => this.#state(message, now));
    const count = (state: MessageState) => states.filter((s) => s === state).length;
    const available = count('available');
    const delayed = count('delayed');
    const leased = count('leased');
    return { backlog: available + delayed + leased, available, delayed, leased, ...queue.counts };
  }

  /** Every message the queue has held, oldest first, with its state now. */
  messages(name: string): (StoredMessage & { state: MessageState })[] {
    const now = this.#now();
    return this.#queue(name).messages.map((message) => ({ ...message, state: this.#state(message, now) }));
  }
}
