// The gpu-worker of the local stack: `gpu-worker/src/main.ts` under tsx, as `npm run gpu-worker`
// runs it, on 127.0.0.1 on CPU with the models wrangler.toml declares (the bundled tiny-sd and the
// tiny SDXL-layout fixtures) unless the environment says otherwise (MODELS, PROVIDERS,
// INTRA_OP_THREADS, … pass through). Ready once /readyz answers 200.
import { type ManagedChild, startChild } from './child-process.ts';
import { waitFor } from './readiness.ts';

export interface GpuWorkerOptions {
  root: string;
  port: number;
  secret: string;
  /** Extra or overriding environment variables (e.g. DRAIN_TIMEOUT_MS). */
  env?: Record<string, string>;
  onLine: (line: string) => void;
}

export interface ReadyModel {
  id: string;
  revision: string;
  provider: string;
}

export interface GpuWorker {
  url: string;
  child: ManagedChild;
  /** Resolves with the loaded models once /readyz says ready; rejects if the process ends first. */
  ready: (timeoutMs: number) => Promise<ReadyModel[]>;
}

/**
 * wrangler.toml's MODELS as the gpu-worker's `MODELS` (`id=source,…`), so it serves what the edge
 * declares (a unit test holds the two equal). Written out rather than read with wrangler's config
 * reader: importing wrangler takes over SIGTERM (it exits 0 at once), which would skip
 * `npm start`'s own shutdown.
 */
export const DEV_MODELS = [
  'tiny-sd=gpu-worker/models/tiny-sd',
  'tiny-sdxl=gpu-worker/test/fixtures/models/sdxl',
  'tiny-sdxl-turbo=gpu-worker/test/fixtures/models/sdxl-turbo',
].join(',');

export function startGpuWorker(options: GpuWorkerOptions): GpuWorker {
  const url = `http://127.0.0.1:${options.port}`;
  const child = startChild({
    command: process.execPath,
    args: ['--import', 'tsx', 'gpu-worker/src/main.ts'],
    cwd: options.root,
    env: {
      // onnxruntime writes a device id and a database under ~/.cache at every start otherwise.
      ORT_DISABLE_TELEMETRY: '1',
      // Ctrl-C should not wait a minute for a job nobody is watching any more.
      DRAIN_TIMEOUT_MS: '5000',
      MODELS: DEV_MODELS,
      ...process.env,
      ...options.env,
      GPU_SHARED_SECRET: options.secret,
      HOST: '127.0.0.1',
      PORT: String(options.port),
    },
    // The worker tags its own lines; the stack's prefix says the same.
    onLine: (line) => options.onLine(line.replace(/^\[gpu-worker\] /, '')),
  });
  return {
    url,
    child,
    ready: (timeoutMs) =>
      waitFor('the gpu-worker', child, timeoutMs, async () => {
        const response = await fetch(`${url}/readyz`);
        if (!response.ok) {
          await response.body?.cancel();
          return undefined;
        }
        const body = (await response.json()) as { models?: ReadyModel[] };
        return body.models ?? [];
      }),
  };
}
