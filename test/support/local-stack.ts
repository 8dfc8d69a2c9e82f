// The local stack of `npm start` (infra/dev/stack.ts) for end-to-end tests: the same code, on
// free loopback ports, with its secrets, API key and wrangler state in a temporary folder.
// Output is kept (printed on a failed start, or live with E2E_LOGS=1).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { ensureDevKey } from '../../infra/dev/dev-key.ts';
import { LocalStack, type StackInfo } from '../../infra/dev/stack.ts';
import { writeBuildlessConfig } from './buildless-config.ts';
import { freePorts } from './free-ports.ts';

const REPO_ROOT = resolve(import.meta.dirname, '../..');

export interface TestStack {
  stack: LocalStack;
  info: StackInfo;
  /** The temporary folder; `state` inside it is wrangler's --persist-to. */
  dir: string;
  persistTo: string;
  logs: () => string;
  close: () => Promise<void>;
  /** The keys TestStackOptions.extraKeys asked for. */
  extraKeys: string[];
}

export interface TestStackOptions {
  edgeVars?: Record<string, string>;
  /** Added to the gpu-worker's environment, which has INTRA_OP_THREADS=1 unless set here. */
  gpuEnv?: Record<string, string>;
  /** wrangler configs run beside the edge, e.g. writeQueueBridgeConfig()'s (test/support/queue-bridge/). */
  edgeExtraConfigs?: string[];
  /** The edge's wrangler config, when not wrangler.toml (the scale-out one); run without its [build]. */
  edgeConfig?: string;
  /** More API keys to create in the local KV before the edge starts (e.g. two clients). */
  extraKeys?: number;
}

export async function startTestStack(options: TestStackOptions = {}): Promise<TestStack> {
  const dir = mkdtempSync(join(tmpdir(), 'latent-edge-e2e-'));
  const [edgePort, gpuPort] = await freePorts(2);
  const lines: string[] = [];
  const persistTo = join(dir, 'state');
  const edgeConfig = await writeBuildlessConfig(dir, options.edgeConfig);
  const stack = new LocalStack({
    root: REPO_ROOT,
    edgePort,
    gpuPort,
    persistTo,
    devVarsPath: join(dir, 'dev.vars'),
    edgeEnvPath: join(dir, 'edge.env'),
    keyFile: join(dir, 'dev-key'),
    edgeVars: options.edgeVars,
    edgeExtraConfigs: options.edgeExtraConfigs,
    edgeConfig,
    // One onnxruntime thread: two cores are shared by the worker, workerd, the tests (and Chromium).
    gpuEnv: { INTRA_OP_THREADS: '1', ...options.gpuEnv },
    wranglerLogPath: join(dir, 'wrangler-logs'),
    onLine: (source, line) => {
      lines.push(`[${source}] ${line}`);
      if (process.env.E2E_LOGS) console.log(`[${source}] ${line}`);
    },
  });
  const extraKeys: string[] = [];
  for (let i = 0; i < (options.extraKeys ?? 0); i++) {
    const created = await ensureDevKey({
      root: REPO_ROOT,
      persistTo,
      keyFile: join(dir, `extra-key-${i}`),
      name: `e2e extra key ${i}`,
      wranglerLogPath: join(dir, 'wrangler-logs'),
    });
    extraKeys.push(created.key);
  }
  const logs = () => lines.join('\n');
  const close = async () => {
    await stack.stop();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const info = await stack.start();
    return { stack, info, dir, persistTo, logs, close, extraKeys };
  } catch (error) {
    await close();
    throw new Error(`${(error as Error).message}\n--- stack output ---\n${lines.slice(-60).join('\n')}`);
  }
}
