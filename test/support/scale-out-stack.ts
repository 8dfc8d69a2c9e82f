// The local stack in scale-out mode, for the end-to-end test and the benchmark: the edge under
// `wrangler dev` on its scale-out config (npm run scale-out:config), producing through real queue
// bindings; the queue bridge feeding those messages to the fake Cloudflare Queues REST API; and
// real gpu-worker processes in pull mode (the stack's own push-mode worker stays idle).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeScaleOutConfig } from '../../infra/scale-out/scale-out-config.ts';
import { DISPATCH_DEAD_LETTER_QUEUE, dispatchQueueName } from '../../shared/src/protocol/dispatch.ts';
import { FakeQueues } from './fake-queues.ts';
import { type RunningWorker, startGpuWorker } from './gpu-worker-process.ts';
import { startTestStack, type TestStack } from './local-stack.ts';
import { writeQueueBridgeConfig } from './queue-bridge/bridge-config.ts';

export const INTERACTIVE = dispatchQueueName('tiny-sd', 'interactive');
export const BATCH = dispatchQueueName('tiny-sd', 'batch');
export const METRICS_TOKEN = 'metrics-token-0123456789abcdefghijklmnopqrstuv';

export interface ScaleOutOptions {
  /** Pull workers to start. */
  workers: number;
  /** Edge vars on top of the scale-out config's. */
  edgeVars?: Record<string, string>;
  /** Environment of every pull worker, on top of the pull settings. */
  workerEnv?: Record<string, string>;
  extraKeys?: number;
}

export interface ScaleOutStack {
  stack: TestStack;
  fake: FakeQueues;
  workers: RunningWorker[];
  /** Starts another pull worker (`env` on top of ScaleOutOptions.workerEnv). */
  startWorker: (name: string, env?: Record<string, string>) => Promise<RunningWorker>;
  close: () => Promise<void>;
}

export async function startScaleOutStack(options: ScaleOutOptions): Promise<ScaleOutStack> {
  const dir = mkdtempSync(join(tmpdir(), 'latent-edge-scale-out-'));
  const fake = new FakeQueues({
    queues: [
      { name: INTERACTIVE, maxRetries: 3, deadLetterQueue: DISPATCH_DEAD_LETTER_QUEUE },
      { name: BATCH, maxRetries: 3, deadLetterQueue: DISPATCH_DEAD_LETTER_QUEUE },
      { name: DISPATCH_DEAD_LETTER_QUEUE },
    ],
  });
  await fake.start();
  const workers: RunningWorker[] = [];
  let stack: TestStack | undefined;
  const close = async () => {
    for (const worker of workers) await worker.stop();
    await stack?.close();
    await fake.close();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const edgeConfig = writeScaleOutConfig(join(dir, 'wrangler.scale-out.json'));
    const bridge = writeQueueBridgeConfig({
      dir,
      queues: edgeConfig.queues,
      apiBase: fake.apiBase,
      accountId: fake.accountId,
      token: fake.token,
    });
    stack = await startTestStack({
      edgeConfig: edgeConfig.path,
      edgeExtraConfigs: [bridge],
      extraKeys: options.extraKeys,
      edgeVars: { METRICS_TOKEN, ...options.edgeVars },
    });
    const running = stack;
    const startWorker = (name: string, env: Record<string, string> = {}) =>
      startGpuWorker({
        GPU_SHARED_SECRET: running.info.secrets.GPU_SHARED_SECRET,
        PULL_QUEUES: `tiny-sd:interactive=${fake.queueId(INTERACTIVE)},tiny-sd:batch=${fake.queueId(BATCH)}`,
        EDGE_URL: running.stack.edgeUrl,
        QUEUES_API_URL: fake.apiBase,
        QUEUES_ACCOUNT_ID: fake.accountId,
        QUEUES_API_TOKEN: fake.token,
        WORKER_NAME: name,
        ...options.workerEnv,
        ...env,
      });
    for (let i = 0; i < options.workers; i++) workers.push(await startWorker(`worker-${i}`));
    return { stack, fake, workers, startWorker, close };
  } catch (error) {
    await close();
    throw error;
  }
}
