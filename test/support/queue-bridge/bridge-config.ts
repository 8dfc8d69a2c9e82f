// Writes the wrangler config of the queue bridge (bridge-worker.ts) for a test: a push consumer of
// each named queue, pointed at the fake Cloudflare Queues API. Given to `wrangler dev` after the
// edge's own config (`wrangler dev -c wrangler.toml -c <this file>`), it runs beside the edge in the
// same Miniflare, whose queue broker delivers the edge's producer-binding messages to it.
// `max_batch_timeout: 0` is the least Miniflare allows (its schema: 0..60 s; wrangler's default
// is 1 s): the broker then flushes a batch as soon as a message arrives, so the bridge adds a few
// milliseconds rather than a second. A larger `max_batch_size` only lets a burst go in one batch.
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

export interface QueueBridgeOptions {
  /** Folder the config is written to (wrangler also bundles the Worker under it, in .wrangler/). */
  dir: string;
  /** Queue names, e.g. latent-edge-gpu-tiny-sd-interactive; each lands in the fake queue of that name. */
  queues: string[];
  /** The fake's API base, `<origin>/client/v4` (FakeQueues.start()). */
  apiBase: string;
  accountId: string;
  token: string;
  /** Retries of a push the fake refused or failed, before Miniflare drops the message. */
  maxRetries?: number;
}

export const QUEUE_BRIDGE_WORKER_NAME = 'latent-edge-queue-bridge';

/** Writes `<dir>/queue-bridge.wrangler.json` and returns its path. */
export function writeQueueBridgeConfig(options: QueueBridgeOptions): string {
  if (options.queues.length === 0) throw new Error('the queue bridge needs at least one queue');
  const config = {
    name: QUEUE_BRIDGE_WORKER_NAME,
    main: resolve(import.meta.dirname, 'bridge-worker.ts'),
    compatibility_date: '2026-03-01',
    vars: {
      FAKE_QUEUES_API_BASE: options.apiBase,
      FAKE_QUEUES_ACCOUNT_ID: options.accountId,
      FAKE_QUEUES_TOKEN: options.token,
    },
    queues: {
      consumers: options.queues.map((queue) => ({
        queue,
        max_batch_size: 100,
        max_batch_timeout: 0,
        max_retries: options.maxRetries ?? 5,
      })),
    },
  };
  const path = join(options.dir, 'queue-bridge.wrangler.json');
  writeFileSync(path, `${JSON.stringify(config, null, 2)}\n`);
  return path;
}
