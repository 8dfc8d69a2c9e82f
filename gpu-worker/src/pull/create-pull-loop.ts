// The pull loop as the configuration describes it: the Queues API client and the edge client
// with their credentials, and the served models' batchers. main.ts calls this once models are
// ready, and only in pull mode (PULL_QUEUES set, which config.ts checks brings the rest).
import type { Config } from '../config.ts';
import type { LoraVariants } from '../lora/lora-variants.ts';
import type { DiffusionModel } from '../model/diffusion-model.ts';
import type { Metrics } from '../service/metrics.ts';
import type { StepBatcher } from '../service/step-batcher.ts';
import { EdgeClient } from './edge-client.ts';
import { PullLoop } from './pull-loop.ts';
import { QueuesClient } from './queues-client.ts';

export interface PullLoopParts {
  config: Config;
  models: ReadonlyMap<string, DiffusionModel>;
  batchers: ReadonlyMap<string, StepBatcher>;
  loras: ReadonlyMap<string, LoraVariants>;
  metrics: Metrics;
  log: (message: string) => void;
}

export function createPullLoop({ config, models, batchers, loras, metrics, log }: PullLoopParts): PullLoop {
  return new PullLoop({
    queues: config.PULL_QUEUES,
    client: new QueuesClient({
      apiUrl: config.QUEUES_API_URL as string,
      accountId: config.QUEUES_ACCOUNT_ID as string,
      token: config.QUEUES_API_TOKEN as string,
    }),
    edge: new EdgeClient({ edgeUrl: config.EDGE_URL as string, secret: config.GPU_SHARED_SECRET }),
    intake: { models, batchers, loras, jobTimeoutMs: config.JOB_TIMEOUT_MS },
    batchers,
    metrics,
    log,
    workerName: config.WORKER_NAME,
    maxAttempts: config.PULL_MAX_ATTEMPTS,
    maxBatch: config.MAX_BATCH,
    visibilityTimeoutMs: config.PULL_VISIBILITY_TIMEOUT_MS,
    interactiveWeight: config.INTERACTIVE_WEIGHT,
    idleMaxMs: config.PULL_IDLE_MAX_MS,
  });
}
