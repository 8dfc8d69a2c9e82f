// The edge's result cache under load: requests/s and p50/p99 latency of `POST /v1/images` answered
// from R2 (X-Cache: HIT) by the edge's deploy bundle in workerd, against a bare Worker returning a
// constant JSON of the same size, in the same runtime, through the same client, in the same run; and
// the edge Worker's own CPU per cache hit. Closed-loop load at fixed concurrencies for a fixed time,
// only to 127.0.0.1. The cache is primed by one request answered by the real gpu-worker, which is
// then stopped, so every measured request must be a hit: anything else is counted as an error.
// `npm run bench -- edge`; BENCH_SECONDS=<measured seconds per configuration> (default 6).
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Miniflare } from 'miniflare';
import { createKey } from '../../infra/keys/keys.ts';
import { type RunningWorker, startGpuWorker, TEST_GPU_SECRET } from '../support/gpu-worker-process.ts';
import { runClosedLoop } from './support/closed-loop.ts';
import { buildEdgeBundle } from './support/edge-bundle.ts';
import { type CpuRun, harnessOptions, measureWorkerCpu, type WorkerCpu } from './support/edge-cpu.ts';
import { type LoopbackClient, loopbackClient, type Reply } from './support/loopback-client.ts';
import { formatLoad, machine } from './support/machine.ts';
import { FIRST_PROMPT } from './support/sd-prompts.ts';
import { quantile } from './support/stats.ts';
import { childWorkerdPids, processCpuMs } from './support/workerd-process.ts';

const CONCURRENCY = [1, 8];
/** Requests started in the first seconds of each configuration warm the isolate and JIT; not measured. */
const WARMUP_MS = 2_000;
/** Worker CPU: requests recorded, requests per mode and round, rounds, and unmeasured warm-up requests. */
const CPU_RUN: CpuRun = { recorded: 500, requests: 60, rounds: 30, warmup: 500 };
const GOAL_WORKER_CPU_MS = 1;
const GOAL_THROUGHPUT_SHARE = 0.5;

/** One image of the bundled model with its defaults (64×64, 20 steps): what a cache hit answers. */
const REQUEST = JSON.stringify({
  prompt: FIRST_PROMPT,
  negative_prompt: 'blurry, lowres, bad anatomy, watermark, jpeg artifacts',
  seed: 42,
});
/** The key's own limit, far above what the run sends: the rate limiter runs on every request, never refuses. */
const RATE_LIMIT = { requests: 10_000, window_seconds: 1 };

interface Target {
  name: string;
  url: string;
  workerdPid: number;
  accepts: (reply: Reply) => boolean;
}

interface Row {
  worker: string;
  concurrency: number;
  requests: number;
  errors: number;
  rps: number;
  p50: number;
  p99: number;
  /** workerd process CPU ms per request, and cores' worth of it over the window. */
  cpuMs: number;
  workerdCores: number;
  /** This Node process's (the client's) CPU ms per request. */
  clientCpuMs: number;
}

const now = () => performance.now();
const fmt = (n: number, digits = 0) =>
  Number.isFinite(n)
    ? n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits })
    : 'n/a';
const clientCpuMs = () => {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
};

function fulfilled<T>(result: PromiseSettledResult<T>): T {
  if (result.status === 'rejected') throw result.reason;
  return result.value;
}

/** The one workerd process a Miniflare instance started, once it is ready. */
async function startWorkerd(mf: Miniflare): Promise<{ url: URL; pid: number }> {
  const before = new Set(childWorkerdPids());
  const url = await mf.ready;
  const started = childWorkerdPids().filter((pid) => !before.has(pid));
  if (started.length !== 1) throw new Error(`expected one new workerd process, found ${started.length}`);
  return { url, pid: started[0] };
}

async function measure(
  target: Target,
  headers: Record<string, string>,
  concurrency: number,
  measureMs: number,
): Promise<Row> {
  const client = loopbackClient(target.url, concurrency);
  let errors = 0;
  let firstError: string | undefined;
  const window = { cpuStart: 0, cpuEnd: 0, clientStart: 0, clientEnd: 0 };
  try {
    const load = await runClosedLoop(
      async (signal) => {
        const reply = await client.send('POST', '/v1/images', { headers, body: REQUEST, signal });
        if (target.accepts(reply)) return 1;
        errors++;
        firstError ??= `${reply.status} X-Cache ${reply.headers['x-cache']}: ${reply.body.slice(0, 300)}`;
        return 0;
      },
      {
        clients: concurrency,
        warmupMs: WARMUP_MS,
        measureMs,
        onWindowStart: async () => {
          window.cpuStart = processCpuMs(target.workerdPid);
          window.clientStart = clientCpuMs();
        },
        onWindowEnd: async () => {
          window.cpuEnd = processCpuMs(target.workerdPid);
          window.clientEnd = clientCpuMs();
        },
      },
    );
    if (firstError) console.error(`${target.name}: ${errors} errors; the first: ${firstError}`);
    const completed = load.imagesInWindow;
    const cpu = window.cpuEnd - window.cpuStart;
    return {
      worker: target.name,
      concurrency,
      requests: load.latenciesMs.length,
      errors,
      rps: (completed * 1000) / load.windowMs,
      p50: quantile(load.latenciesMs, 0.5),
      p99: quantile(load.latenciesMs, 0.99),
      cpuMs: cpu / completed,
      workerdCores: cpu / load.windowMs,
      clientCpuMs: (window.clientEnd - window.clientStart) / completed,
    };
  } finally {
    client.close();
  }
}

async function post(client: LoopbackClient, headers: Record<string, string>): Promise<Reply> {
  return client.send('POST', '/v1/images', { headers, body: REQUEST });
}

function report(rows: Row[], cpu: WorkerCpu, measureMs: number, primeMs: number): string[] {
  const row = (worker: string, concurrency: number) =>
    rows.find((r) => r.worker === worker && r.concurrency === concurrency) as Row;
  const share = (c: number) => row('cache hit', c).rps / row('bare', c).rps;
  const top = Math.max(...CONCURRENCY);
  const errors = rows.reduce((sum, r) => sum + r.errors, 0);
  const bareCpu = row('bare', top).cpuMs;
  const hitCpu = row('cache hit', top).cpuMs;
  return [
    '| worker | concurrency | requests | req/s | p50 ms | p99 ms | CPU ms/request |',
    '|---|---:|---:|---:|---:|---:|---:|',
    ...rows.map(
      (r) =>
        `| ${r.worker} | ${r.concurrency} | ${r.requests} | ${fmt(r.rps)} | ${fmt(r.p50, 2)} | ${fmt(r.p99, 2)} | ` +
        `${fmt(r.cpuMs, 2)} |`,
    ),
    '',
    `- Requests/s, cache hit ÷ bare: ${CONCURRENCY.map((c) => `${fmt(share(c), 2)}× at concurrency ${c}`).join(', ')}. ` +
      `Goal ≥ ${GOAL_THROUGHPUT_SHARE}× (at ${top}): ${share(top) >= GOAL_THROUGHPUT_SHARE ? 'met' : 'NOT met'}. ` +
      `Errors (an answer other than 200, or for the edge other than X-Cache: HIT): ${errors}.`,
    `- Worker CPU per cache hit: ${fmt(cpu.workerMs, 2)} ms (median of ${CPU_RUN.rounds} rounds, quartiles ` +
      `${fmt(cpu.workerMsQuartiles[0], 2)}–${fmt(cpu.workerMsQuartiles[1], 2)}; fastest rounds ` +
      `${fmt(cpu.workerMsFastest, 2)}): workerd CPU ${fmt(cpu.edgeMs, 2)} ms per request through the edge − ` +
      `${fmt(cpu.replayMs, 2)} ms for its binding calls alone (` +
      `${cpu.calls.map((c) => `${c.call}: ${fmt(c.perRequest, 3)} per request, ${fmt(c.ms, 2)} ms each`).join('; ')}). ` +
      `Goal < ${GOAL_WORKER_CPU_MS} ms ` +
      `(median): ${cpu.workerMs < GOAL_WORKER_CPU_MS ? 'met' : 'NOT met'}.`,
    `- Where workerd's one thread is the bottleneck, requests/s go as 1 / its CPU per request: bare ÷ hit = ` +
      `${fmt(bareCpu / hitCpu, 2)} at ${top}. Of the hit's ${fmt(hitCpu, 2)} ms, the Worker's own is ` +
      `${fmt(cpu.workerMs, 2)} ms; the rest (HTTP, Miniflare's entry Worker, the local simulators) is ` +
      `${fmt(hitCpu - cpu.workerMs, 2)} ms, against ${fmt(bareCpu, 2)} ms for the whole bare request.`,
    '',
    '| worker | concurrency | workerd CPU (1 = a core) | client CPU ms/request |',
    '|---|---:|---:|---:|',
    ...rows.map(
      (r) => `| ${r.worker} | ${r.concurrency} | ${fmt(r.workerdCores, 2)} | ${fmt(r.clientCpuMs, 2)} |`,
    ),
    '',
    'How it was measured:',
    "- The edge is `wrangler deploy --dry-run`'s bundle of edge/src/index.ts (tokenizers compiled by " +
      "wrangler.toml's build command, minified, as deployed) with wrangler.toml's bindings, run by Miniflare " +
      'in a workerd process of its own with fresh local KV, R2 and Durable Object state. The bare Worker, ' +
      'in another workerd process started the same way, reads the body and answers a constant: the ' +
      "edge's cache-hit answer, same bytes.",
    `- The API key (infra/keys createKey, local state) has its own limit of ${RATE_LIMIT.requests} ` +
      `requests per ${RATE_LIMIT.window_seconds} s: the rate limiter Durable Object runs on every request and ` +
      'never refuses. One request went to the real gpu-worker (bundled tiny-sd on CPU, ' +
      `${fmt(primeMs / 1000, 1)} s, X-Cache: MISS), which was then killed: a request that is not a hit cannot ` +
      'succeed.',
    '- Closed loop: each of `concurrency` clients (node:http, one keep-alive connection each) sends the ' +
      `same request and waits for the whole answer. Per configuration ${WARMUP_MS / 1000} s of warm-up, then ` +
      `a ${measureMs / 1000} s window: req/s = answers completed in the window; p50/p99 = latency (send to last ` +
      'byte) of every request started in it. Bare and edge alternate at each concurrency.',
    "- CPU ms/request = CPU time (the scheduler's run time of its threads, /proc schedstat) of the workerd " +
      'process over the window ÷ answers: ' +
      'HTTP, the Miniflare entry Worker, the Worker, and for the edge the local KV, R2 and Durable Object ' +
      'simulators, which run in the same process. client CPU = this Node process (the load generator).',
    "- Worker CPU per cache hit: a harness Worker (test/bench/support/edge-cpu-harness.js) in the edge's " +
      `workerd sends the request ${CPU_RUN.requests} times to the bundle's fetch, then makes only the binding ` +
      `calls of ${CPU_RUN.requests} requests, as ${CPU_RUN.recorded} recorded ones made them (after one that ` +
      "filled the isolate's memory of the key record, the stored image and leased rate-limit slots, as for " +
      'every measured one), with the same arguments; ' +
      `${CPU_RUN.rounds} rounds, after ${CPU_RUN.warmup} of each unmeasured. The difference in workerd CPU ` +
      'leaves out HTTP, the entry Worker and the simulators (other services in production); it keeps all the ' +
      "isolate does for the request (JS, crypto, GC) but a binding call's own caller-side cost. Fastest " +
      'rounds = the cheapest edge round − the cheapest replay round: other processes on the machine only ' +
      'ever add CPU time (cold caches after a context switch).',
  ];
}

export async function run(): Promise<void> {
  const measureMs = Number(process.env.BENCH_SECONDS ?? 6) * 1000;
  const loadBefore = formatLoad();
  const started = now();
  const tmp = mkdtempSync(join(tmpdir(), 'latent-edge-bench-'));
  const state = join(tmp, 'state');
  const miniflares: Miniflare[] = [];
  let gpu: RunningWorker | undefined;
  const stopAll = async () => {
    await gpu?.stop();
    await Promise.allSettled(miniflares.map((mf) => mf.dispose()));
    rmSync(tmp, { recursive: true, force: true });
  };
  const onSignal = () => void stopAll().finally(() => process.exit(130));
  process.once('SIGINT', onSignal).once('SIGTERM', onSignal);
  try {
    // 1. The deploy bundle, a real gpu-worker and an API key in the local KV, side by side.
    const setup = await Promise.allSettled([
      buildEdgeBundle(join(tmp, 'bundle')),
      startGpuWorker().then((w) => {
        gpu = w;
        return w;
      }),
      Promise.resolve().then(() => createKey({ persistTo: state }, 'edge bench', RATE_LIMIT)),
    ]);
    const [bundle, worker, created] = [fulfilled(setup[0]), fulfilled(setup[1]), fulfilled(setup[2])];
    const headers = {
      Authorization: `Bearer ${created.key}`,
      'Content-Type': 'application/json',
    };

    // 2. The edge in workerd, its gpu-worker the real one.
    const bindings = {
      GPU_SHARED_SECRET: TEST_GPU_SECRET,
      CACHE_KEY_SECRET: randomBytes(32).toString('base64url'),
      GPU_WORKERS: worker.url,
    };
    const edgeMf = new Miniflare({
      host: '127.0.0.1',
      port: 0,
      defaultPersistRoot: join(state, 'v3'),
      workers: [bundle.options(bindings), harnessOptions(bundle, bindings)],
    });
    miniflares.push(edgeMf);
    const edge = await startWorkerd(edgeMf);

    // 3. Prime the result cache, then take the gpu-worker away.
    const primer = loopbackClient(edge.url.origin, 1);
    const primeStart = now();
    const miss = await post(primer, headers);
    const primeMs = now() - primeStart;
    if (miss.status !== 200 || miss.headers['x-cache'] !== 'MISS') {
      throw new Error(`priming: ${miss.status} X-Cache ${miss.headers['x-cache']}: ${miss.body}`);
    }
    await gpu?.stop();
    gpu = undefined;
    const hit = await post(primer, headers);
    primer.close();
    if (hit.status !== 200 || hit.headers['x-cache'] !== 'HIT') {
      throw new Error(`after priming: ${hit.status} X-Cache ${hit.headers['x-cache']}: ${hit.body}`);
    }

    // 4. The bare Worker: the same answer, as a constant, in a workerd process of its own.
    const bareMf = new Miniflare({
      host: '127.0.0.1',
      port: 0,
      name: 'bare',
      modules: true,
      compatibilityDate: bundle.options({}).compatibilityDate,
      // It reads the request body, as the edge does: workerd closes a connection whose body is left unread.
      script: `const BODY = ${JSON.stringify(hit.body)}; export default { fetch: async (request) => (await request.arrayBuffer(), new Response(BODY, { headers: { 'Content-Type': 'application/json' } })) };`,
    });
    miniflares.push(bareMf);
    const bare = await startWorkerd(bareMf);

    // 5. Load, bare and edge in turn at each concurrency.
    const targets: Target[] = [
      { name: 'bare', url: bare.url.origin, workerdPid: bare.pid, accepts: (r) => r.status === 200 },
      {
        name: 'cache hit',
        url: edge.url.origin,
        workerdPid: edge.pid,
        accepts: (r) => r.status === 200 && r.headers['x-cache'] === 'HIT',
      },
    ];
    const rows: Row[] = [];
    for (const concurrency of CONCURRENCY) {
      for (const target of targets) rows.push(await measure(target, headers, concurrency, measureMs));
    }

    // 6. The Worker's own CPU per cache hit.
    const cpu = await measureWorkerCpu(edgeMf, edge.pid, { headers, body: REQUEST }, CPU_RUN);

    const require = createRequire(import.meta.url);
    const versions = ['wrangler', 'miniflare']
      .map((name) => `${name} ${(require(`${name}/package.json`) as { version: string }).version}`)
      .join(', ');
    const lines = [
      '## edge: a result-cache hit against a bare Worker',
      '',
      `Machine: ${machine()}; ${versions}. Load average (1/5/15 min): ${loadBefore} at start, ` +
        `${formatLoad()} at end.`,
      '',
      ...report(rows, cpu, measureMs, primeMs),
      '',
      `(benchmark took ${fmt((now() - started) / 1000, 1)} s)`,
    ];
    console.log(lines.join('\n'));
  } catch (error) {
    if (gpu) console.error(`the gpu-worker's last log lines:\n${gpu.logs().slice(-3000)}`);
    throw error;
  } finally {
    process.off('SIGINT', onSignal).off('SIGTERM', onSignal);
    await stopAll();
  }
}
