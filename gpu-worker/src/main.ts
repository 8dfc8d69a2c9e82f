// The gpu-worker's entry point, and the only file that touches `process`: reads and validates
// the configuration (refusing to start on a bad value), loads and warms the models, serves HTTP,
// pulls jobs from its queues in pull mode (PULL_QUEUES set), and on SIGTERM/SIGINT stops taking
// and pulling jobs, drains the running and queued ones (pulled ones reported and acknowledged),
// then exits 0.
import { serve } from '@hono/node-server';
import { ConfigError, loadConfig } from './config.ts';
import { openLoraLibrary } from './lora/lora-library.ts';
import { LoraVariants } from './lora/lora-variants.ts';
import { type DiffusionModel, loadDiffusionModel } from './model/diffusion-model.ts';
import { ModelFolderError } from './model/model-folder.ts';
import { TextEncoderCache } from './pipeline/text-encoder-cache.ts';
import { createPullLoop } from './pull/create-pull-loop.ts';
import { freeSlots } from './pull/free-slots.ts';
import type { PullLoop } from './pull/pull-loop.ts';
import { createApp, type WorkerState } from './server/app.ts';
import { warmUp } from './server/warm-up.ts';
import { createMetrics } from './service/metrics.ts';
import { StepBatcher } from './service/step-batcher.ts';

const log = (message: string) => console.log(`[gpu-worker] ${message}`);

async function main(): Promise<void> {
  let config: ReturnType<typeof loadConfig>;
  try {
    config = loadConfig(process.env);
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(`[gpu-worker] ${error.message}`);
      process.exit(78); // EX_CONFIG
    }
    throw error;
  }

  const metrics = createMetrics();
  metrics.draining.set(0);
  const state: WorkerState = { ready: false, draining: false };
  const models = new Map<string, DiffusionModel>();
  const batchers = new Map<string, StepBatcher>();
  const loras = new Map<string, LoraVariants>();
  const app = createApp({ config, models, batchers, loras, metrics, state });
  const server = serve({ fetch: app.fetch, port: config.PORT, hostname: config.HOST }, (info) =>
    log(`listening on http://${info.address}:${info.port} (not ready until models load)`),
  );
  // Node closes idle keep-alive connections after 5 s, racing clients that reuse one just then
  // (ECONNRESET before the request is sent); keep them longer than any client's pool does.
  if ('keepAliveTimeout' in server) {
    server.keepAliveTimeout = 65_000;
    server.headersTimeout = 66_000;
  }

  let pullLoop: PullLoop | undefined;
  for (const entry of config.MODELS) {
    const model = await loadDiffusionModel(entry.dir, {
      id: entry.id,
      providers: config.PROVIDERS,
      intraOpThreads: config.INTRA_OP_THREADS,
      log,
    });
    await warmUp(model);
    const library = openLoraLibrary(model);
    if (library.entries.size > 0) {
      const settings = { providers: config.PROVIDERS, intraOpThreads: config.INTRA_OP_THREADS, log };
      loras.set(model.id, new LoraVariants(model, library, settings, config.LORA_CACHE_MB * 2 ** 20));
      log(`model ${model.id}: LoRAs ${[...library.entries.keys()].join(', ')}`);
    }
    models.set(model.id, model);
    const batcher = new StepBatcher(
      model,
      { maxBatch: config.MAX_BATCH, queueSize: config.QUEUE_SIZE },
      new TextEncoderCache(),
      metrics,
    );
    batchers.set(model.id, batcher);
    // Slots a scaler reads: jobs in the batcher, pushed or pulled, and pulled ones on their way in.
    metrics.slotReaders.set(model.id, () => {
      const counts = {
        maxBatch: config.MAX_BATCH,
        running: batcher.runningCount,
        starting: batcher.startingCount,
        waiting: batcher.queueDepth,
      };
      const free = freeSlots({ ...counts, held: pullLoop?.heldOf(model.id) ?? 0 });
      return { free, busy: config.MAX_BATCH - free };
    });
    log(`model ${model.id}@${model.revision} ready on ${model.provider} (${entry.dir})`);
  }
  state.ready = true;
  log(`ready: max batch ${config.MAX_BATCH}, queue ${config.QUEUE_SIZE}`);

  if (config.PULL_QUEUES.length > 0) {
    pullLoop = createPullLoop({ config, models, batchers, loras, metrics, log });
    pullLoop.start();
    const queues = config.PULL_QUEUES.map((q) => `${q.model}:${q.tier}`).join(', ');
    log(`pulling ${queues} as ${config.WORKER_NAME} for ${config.EDGE_URL}`);
  }

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    state.draining = true;
    metrics.draining.set(1);
    log(`${signal}: refusing new jobs${pullLoop ? ' and pulls' : ''}, draining`);
    // Held messages finish, post their results and are acknowledged; pushed jobs finish too.
    let pulledDrained = !pullLoop;
    void pullLoop?.drain().then(() => {
      pulledDrained = true;
    });
    const deadline = Date.now() + config.DRAIN_TIMEOUT_MS;
    while ((!pulledDrained || [...batchers.values()].some((b) => !b.idle)) && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    if (!pulledDrained)
      log(`drain timed out holding ${pullLoop?.holding} messages; they come back to the queue`);
    // Let the last responses flush before closing the listener.
    await new Promise((resolve) => setTimeout(resolve, 200));
    server.close();
    await Promise.all([...loras.values()].map((l) => l.release()));
    await Promise.all([...models.values()].map((m) => m.release()));
    log('drained; exiting');
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
}

main().catch((error: Error) => {
  console.error(`[gpu-worker] failed to start: ${error.message}`);
  // A folder that is not a usable model is bad configuration too (EX_CONFIG), not a crash.
  process.exit(error instanceof ModelFolderError ? 78 : 1);
});
