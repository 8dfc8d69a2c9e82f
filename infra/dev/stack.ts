// The local stack: one gpu-worker and the edge under `wrangler dev`, wired together. Shared by
// `npm start` (infra/dev/start.ts) and the end-to-end tests, so the tests run what a developer
// runs. Start order:
//   1. Both ports are free (one clear message instead of a child's stack trace).
//   2. Secrets: `.dev.vars` completed with generated values; the gpu-worker gets the same
//      GPU_SHARED_SECRET.
//   3. The gpu-worker starts loading its model while the local API key is made sure of in the
//      local KV (before wrangler opens that state).
//   4. The edge starts with GPU_WORKERS pointing at this gpu-worker.
//   5. Ready when /readyz says so and the edge accepts the key.
import { rmSync } from 'node:fs';
import type { ManagedChild } from './child-process.ts';
import { ensureDevKey } from './dev-key.ts';
import { type DevSecrets, ensureDevVars, writeEnvFile } from './dev-vars.ts';
import { type Edge, startEdge } from './edge.ts';
import { type GpuWorker, type ReadyModel, startGpuWorker } from './gpu-worker.ts';
import { assertPortFree } from './ports.ts';

export type StackSource = 'edge' | 'gpu';

export interface StackOptions {
  root: string;
  edgePort: number;
  gpuPort: number;
  /** wrangler's --persist-to: local R2, KV, Durable Objects and Queues. */
  persistTo: string;
  /** The developer's `.dev.vars` (created or completed here). */
  devVarsPath: string;
  /** The env file the stack writes for the edge (removed on stop: it may hold tokens). */
  edgeEnvPath: string;
  /** Where a generated API key is saved for the next run. */
  keyFile: string;
  /** LATENT_EDGE_DEV_KEY. */
  apiKey?: string;
  /** Edge vars on top of wrangler.toml and .dev.vars (Discord settings, ALLOW_LOCAL_WEBHOOKS…). */
  edgeVars?: Record<string, string>;
  /** gpu-worker environment on top of the inherited one. */
  gpuEnv?: Record<string, string>;
  /** wrangler configs run beside the edge (EdgeOptions.extraConfigs): tests' queue bridge. */
  edgeExtraConfigs?: string[];
  /** The edge's wrangler config (EdgeOptions.config), when not wrangler.toml. */
  edgeConfig?: string;
  onLine: (source: StackSource, line: string) => void;
  readyTimeoutMs?: number;
  /** Where wrangler writes its debug logs (default: ~/.config/.wrangler/logs). */
  wranglerLogPath?: string;
}

export interface StackInfo {
  edgeUrl: string;
  gpuUrl: string;
  apiKey: string;
  apiKeySource: 'environment' | 'saved' | 'generated';
  models: ReadyModel[];
  generatedSecrets: string[];
  secrets: DevSecrets;
}

export class LocalStack {
  readonly options: StackOptions;
  private gpuWorker?: GpuWorker;
  private edgeProcess?: Edge;
  private info?: StackInfo;
  private stopping = false;
  /** Aborted by stop(): cancels the key's wrangler call if the stack is stopped while starting. */
  private readonly stopSignal = new AbortController();
  /** Children stopped on purpose: their exit is not a crash. */
  private readonly expectedExits = new WeakSet<ManagedChild>();
  private crashListener?: (source: StackSource, child: ManagedChild) => void;

  constructor(options: StackOptions) {
    this.options = options;
  }

  get edgeUrl(): string {
    return `http://127.0.0.1:${this.options.edgePort}`;
  }

  get gpuUrl(): string {
    return `http://127.0.0.1:${this.options.gpuPort}`;
  }

  get gpu(): ManagedChild | undefined {
    return this.gpuWorker?.child;
  }

  get edge(): ManagedChild | undefined {
    return this.edgeProcess?.child;
  }

  /** Called when a child ends that nobody asked to stop. */
  onCrash(listener: (source: StackSource, child: ManagedChild) => void): void {
    this.crashListener = listener;
  }

  private readyTimeout(): number {
    return this.options.readyTimeoutMs ?? 180_000;
  }

  private watch(source: StackSource, child: ManagedChild): void {
    void child.exited.then(() => {
      if (!this.stopping && !this.expectedExits.has(child)) this.crashListener?.(source, child);
    });
  }

  private spawnGpuWorker(secret: string): GpuWorker {
    const worker = startGpuWorker({
      root: this.options.root,
      port: this.options.gpuPort,
      secret,
      env: this.options.gpuEnv,
      onLine: (line) => this.options.onLine('gpu', line),
    });
    this.gpuWorker = worker;
    this.watch('gpu', worker.child);
    return worker;
  }

  private spawnEdge(): Edge {
    writeEnvFile(
      this.options.edgeEnvPath,
      { GPU_WORKERS: this.gpuUrl, ...this.options.edgeVars },
      'Written by the local stack (infra/dev/stack.ts) for wrangler dev; removed when it stops.',
    );
    const edge = startEdge({
      root: this.options.root,
      port: this.options.edgePort,
      persistTo: this.options.persistTo,
      envFiles: [this.options.devVarsPath, this.options.edgeEnvPath],
      onLine: (line) => this.options.onLine('edge', line),
      wranglerLogPath: this.options.wranglerLogPath,
      extraConfigs: this.options.edgeExtraConfigs,
      config: this.options.edgeConfig,
    });
    this.edgeProcess = edge;
    this.watch('edge', edge.child);
    return edge;
  }

  async start(): Promise<StackInfo> {
    const { options } = this;
    try {
      // 1. Ports.
      if (options.edgePort === options.gpuPort) {
        throw new Error(`EDGE_PORT and GPU_PORT are both ${options.edgePort}; choose two ports`);
      }
      await assertPortFree(options.edgePort, 'the edge, EDGE_PORT');
      await assertPortFree(options.gpuPort, 'the gpu-worker, GPU_PORT');
      // 2. Secrets.
      const { secrets, generated } = ensureDevVars(options.devVarsPath);
      // 3. gpu-worker, and meanwhile the API key.
      const gpu = this.spawnGpuWorker(secrets.GPU_SHARED_SECRET);
      const gpuReady = gpu.ready(this.readyTimeout());
      gpuReady.catch(() => undefined); // awaited below; a key failure must not leave it unhandled
      const key = await ensureDevKey({
        root: options.root,
        persistTo: options.persistTo,
        keyFile: options.keyFile,
        key: options.apiKey,
        wranglerLogPath: options.wranglerLogPath,
        signal: this.stopSignal.signal,
      });
      this.assertNotStopped();
      // 4. Edge.
      const edge = this.spawnEdge();
      // 5. Both ready.
      const [models] = await Promise.all([gpuReady, edge.ready(key.key, this.readyTimeout())]);
      this.assertNotStopped();
      this.info = {
        edgeUrl: this.edgeUrl,
        gpuUrl: this.gpuUrl,
        apiKey: key.key,
        apiKeySource: key.source,
        models,
        generatedSecrets: generated,
        secrets,
      };
      return this.info;
    } catch (error) {
      await this.stop();
      throw error;
    }
  }

  private assertNotStopped(): void {
    if (this.stopping) throw new Error('the stack was stopped while starting');
  }

  /** SIGKILL to the gpu-worker's process group: a crash, as the edge sees it. */
  async killGpuWorker(): Promise<void> {
    const child = this.gpuWorker?.child;
    if (!child) return;
    this.expectedExits.add(child);
    await child.kill();
  }

  async restartGpuWorker(): Promise<void> {
    const old = this.gpuWorker?.child;
    if (old) {
      this.expectedExits.add(old);
      await old.stop();
    }
    const secret = this.info?.secrets.GPU_SHARED_SECRET;
    if (!secret) throw new Error('the stack has not started');
    await this.spawnGpuWorker(secret).ready(this.readyTimeout());
  }

  /** Stops `wrangler dev` and starts it again on the same port and the same persisted state. */
  async restartEdge(): Promise<void> {
    const old = this.edgeProcess?.child;
    if (old) {
      this.expectedExits.add(old);
      await old.stop();
    }
    const apiKey = this.info?.apiKey;
    if (!apiKey) throw new Error('the stack has not started');
    await this.spawnEdge().ready(apiKey, this.readyTimeout());
  }

  /** Stops both at once (process groups: wrangler's workerd too), then removes the override file. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.stopSignal.abort();
    const edge = this.edgeProcess?.child;
    const gpu = this.gpuWorker?.child;
    await Promise.all([edge?.stop(), gpu?.stop(8_000)]);
    rmSync(this.options.edgeEnvPath, { force: true });
  }
}
