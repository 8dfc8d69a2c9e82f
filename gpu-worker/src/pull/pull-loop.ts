// The pull loop: for each model the worker serves from a queue, pull as many messages as the
// model has free batch slots (free-slots.ts), interactive before batch by weight (tier-picker.ts),
// hand each to runPulledJob and acknowledge or retry it by what that says. A round that brought
// messages is followed by another at once while slots are free; an empty one by a short recheck
// while jobs run, or by a wait that grows while the worker is idle (idle-backoff.ts). `stop` ends pulling at once; `drain` also waits
// until every message this worker holds has run, been reported and been acknowledged.
import type { Tier } from '@latent-edge/shared/protocol/dispatch';
import type { PullQueue } from '../config.ts';
import type { Metrics } from '../service/metrics.ts';
import type { StepBatcher } from '../service/step-batcher.ts';
import type { QueueAction } from './failure-policy.ts';
import { freeSlots } from './free-slots.ts';
import { IdleBackoff } from './idle-backoff.ts';
import { decodeMessageBody } from './message-body.ts';
import { type PulledJobDeps, runPulledJob } from './pulled-job.ts';
import type { PulledMessage, QueuesClient } from './queues-client.ts';
import { TierPicker } from './tier-picker.ts';
import { Wakeup } from './wakeup.ts';

/** How often a model with no free slot looks again (slots freed by pushed jobs send no signal). */
const FULL_RECHECK_MS = 100;
/** Waits between tries of an acknowledgement; one never sent lets the message come back later. */
const ACK_RETRY_DELAYS_MS = [250, 1000, 4000];

export interface PullLoopOptions extends PulledJobDeps {
  queues: readonly PullQueue[];
  client: QueuesClient;
  batchers: ReadonlyMap<string, StepBatcher>;
  maxBatch: number;
  visibilityTimeoutMs: number;
  interactiveWeight: number;
  idleMaxMs: number;
  metrics: Metrics;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export class PullLoop {
  private stopped = false;
  private readonly wakeup = new Wakeup();
  private readonly loops: Promise<void>[] = [];
  /** Messages pulled and not yet acknowledged or retried. */
  private readonly inFlight = new Set<Promise<void>>();
  /** Per model: messages pulled whose job is not in the batcher yet. */
  private readonly held = new Map<string, number>();
  /** Per model: the wait after an empty round (idle-backoff.ts). */
  private readonly backoffs = new Map<string, IdleBackoff>();

  constructor(private readonly options: PullLoopOptions) {}

  start(): void {
    const models = [...new Set(this.options.queues.map((q) => q.model))];
    for (const model of models) {
      this.held.set(model, 0);
      const loop = this.runModel(model).catch((error: Error) =>
        this.options.log(`pull loop of model ${model} stopped: ${error.stack ?? error.message}`),
      );
      this.loops.push(loop);
    }
  }

  /** Stops pulling now; messages already held go on to the end. */
  stop(): void {
    this.stopped = true;
    this.wakeup.wake();
  }

  /** Stops pulling and resolves once every held message has been acknowledged or retried. */
  async drain(): Promise<void> {
    this.stop();
    await Promise.all(this.loops);
    while (this.inFlight.size > 0) await Promise.all([...this.inFlight]);
  }

  /** Messages held (pulled, not yet acknowledged or retried). */
  get holding(): number {
    return this.inFlight.size;
  }

  /** Messages of `model` pulled whose job is not in the batcher yet (they will hold slots). */
  heldOf(model: string): number {
    return this.held.get(model) ?? 0;
  }

  /** Whether the model has jobs running, starting, waiting or pulled (pushed ones count too). */
  private busy(model: string): boolean {
    const batcher = this.options.batchers.get(model) as StepBatcher;
    return batcher.runningCount + batcher.startingCount + batcher.queueDepth + this.heldOf(model) > 0;
  }

  private freeSlotsOf(model: string): number {
    const batcher = this.options.batchers.get(model) as StepBatcher;
    return freeSlots({
      maxBatch: this.options.maxBatch,
      running: batcher.runningCount,
      starting: batcher.startingCount,
      waiting: batcher.queueDepth,
      held: this.heldOf(model),
    });
  }

  private async runModel(model: string): Promise<void> {
    const { queues, interactiveWeight, idleMaxMs } = this.options;
    const byTier = new Map<Tier, PullQueue>(queues.filter((q) => q.model === model).map((q) => [q.tier, q]));
    const picker = new TierPicker(interactiveWeight, [...byTier.keys()]);
    const backoff = new IdleBackoff(idleMaxMs);
    this.backoffs.set(model, backoff);
    while (!this.stopped) {
      const free = this.freeSlotsOf(model);
      if (free === 0) {
        await this.wakeup.sleep(FULL_RECHECK_MS);
        continue;
      }
      let pulled = 0;
      for (const tier of picker.next()) {
        if (this.stopped || pulled >= free) break;
        pulled += await this.pullFrom(byTier.get(tier) as PullQueue, free - pulled);
      }
      if (pulled > 0) backoff.reset();
      else if (!this.stopped) await this.wakeup.sleep(backoff.afterEmptyRound(this.busy(model)));
    }
  }

  /** One pull of up to `batchSize` messages, each started; how many came. */
  private async pullFrom(queue: PullQueue, batchSize: number): Promise<number> {
    const { client, metrics, visibilityTimeoutMs, log } = this.options;
    let messages: PulledMessage[];
    try {
      ({ messages } = await client.pull(queue.queueId, batchSize, visibilityTimeoutMs));
    } catch (error) {
      metrics.pulls.inc({ queue: queue.queueId, result: 'error' });
      log(`pull from ${queue.model}:${queue.tier}: ${(error as Error).message}`);
      return 0;
    }
    metrics.pulls.inc({ queue: queue.queueId, result: messages.length > 0 ? 'messages' : 'empty' });
    for (const message of messages) this.handle(queue, message);
    return messages.length;
  }

  private handle(queue: PullQueue, pulled: PulledMessage): void {
    const { metrics, log } = this.options;
    if (pulled.attempts > 1) metrics.redeliveries.inc({ model: queue.model, tier: queue.tier });
    const decoded = decodeMessageBody(pulled);
    let action: Promise<QueueAction>;
    if (!decoded.ok) {
      // It can never succeed: drop it rather than let it come back until it dead-letters.
      log(
        `message ${pulled.id} on ${queue.model}:${queue.tier} is not a job (${decoded.reason}); acknowledged`,
      );
      action = Promise.resolve({ kind: 'ack' });
    } else if (decoded.message.model !== queue.model || decoded.message.tier !== queue.tier) {
      log(
        `message ${pulled.id} is for ${decoded.message.model}:${decoded.message.tier}, not this queue's ${queue.model}:${queue.tier}; acknowledged`,
      );
      action = Promise.resolve({ kind: 'ack' });
    } else {
      this.held.set(queue.model, (this.held.get(queue.model) ?? 0) + 1);
      action = runPulledJob(this.options, pulled, decoded.message, queue.tier, {
        leftHand: () => this.held.set(queue.model, (this.held.get(queue.model) ?? 1) - 1),
      });
    }
    const task: Promise<void> = action
      .catch((error: Error) => {
        log(`message ${pulled.id}: ${error.stack ?? error.message}; retrying it`);
        return { kind: 'retry', delaySeconds: 1 } as QueueAction;
      })
      .then((done) => this.settle(queue, pulled, done))
      .finally(() => {
        this.inFlight.delete(task);
        // A slot is free and the next job may follow at once: pull now, then keep the waits short.
        this.backoffs.get(queue.model)?.jobEnded();
        this.wakeup.wake();
      });
    this.inFlight.add(task);
  }

  /** Acknowledges or retries the message, trying again a few times if the API fails. */
  private async settle(queue: PullQueue, pulled: PulledMessage, action: QueueAction): Promise<void> {
    const lease_id = pulled.lease_id;
    const request =
      action.kind === 'ack'
        ? { acks: [{ lease_id }], retries: [] }
        : { acks: [], retries: [{ lease_id, delay_seconds: action.delaySeconds }] };
    for (let attempt = 0; ; attempt++) {
      try {
        await this.options.client.ack(queue.queueId, request);
        return;
      } catch (error) {
        if (attempt >= ACK_RETRY_DELAYS_MS.length) {
          this.options.log(
            `message ${pulled.id}: ${action.kind} not sent (${(error as Error).message}); it comes back after its visibility timeout`,
          );
          return;
        }
        await sleep(ACK_RETRY_DELAYS_MS[attempt]);
      }
    }
  }
}
