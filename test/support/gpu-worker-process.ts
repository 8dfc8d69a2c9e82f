// Starts the real gpu-worker process on a loopback port for a test, and stops it afterwards.
import { type ChildProcess, spawn } from 'node:child_process';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const TEST_GPU_SECRET = 'test-secret-0123456789abcdef-0123456789';

export interface RunningWorker {
  url: string;
  process: ChildProcess;
  logs: () => string;
  /** Resolves with the exit code once the process ends. */
  exited: Promise<number | null>;
  stop: () => Promise<void>;
}

export async function startGpuWorker(
  env: Record<string, string> = {},
  timeoutMs = 90_000,
): Promise<RunningWorker> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'gpu-worker/src/main.ts'], {
    cwd: REPO_ROOT,
    env: {
      ...process.env,
      GPU_SHARED_SECRET: TEST_GPU_SECRET,
      PORT: '0',
      HOST: '127.0.0.1',
      INTRA_OP_THREADS: '1',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (d) => {
    output += d;
  });
  child.stderr?.on('data', (d) => {
    output += d;
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await exited;
    }
  };

  const started = Date.now();
  let url: string | undefined;
  while (Date.now() - started < timeoutMs) {
    if (child.exitCode !== null) throw new Error(`gpu-worker exited with ${child.exitCode}:\n${output}`);
    url ??= /listening on (http:\/\/[\d.]+:\d+)/.exec(output)?.[1];
    if (url) {
      const ready = await fetch(`${url}/readyz`).catch(() => undefined);
      if (ready?.ok) return { url, process: child, logs: () => output, exited, stop };
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  await stop();
  throw new Error(`gpu-worker did not become ready in ${timeoutMs} ms:\n${output}`);
}

/** Reads one metric's value (summed over label sets that contain `labels`) from /metrics. */
export async function metricValue(url: string, name: string, labels = ''): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  let sum = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith(`${name}{`) || line.startsWith(`${name} `)) {
      if (labels && !line.includes(labels)) continue;
      sum += Number(line.slice(line.lastIndexOf(' ') + 1));
    }
  }
  return sum;
}
