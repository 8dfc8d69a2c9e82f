// The gpu-worker service under load: images/min and p50/p95 latency with 1, 4 and 8 closed-loop
// clients, step-level batching on (MAX_BATCH=8) and off (MAX_BATCH=1), in one run, against the real
// process on loopback with the bundled model on CPU. Both workers start once; the configurations
// alternate off/on at each client count so a drift in the machine's load hits both alike.
// `npm run bench -- worker`; BENCH_THREADS=<the workers' INTRA_OP_THREADS> (default 0: onnxruntime
// chooses), BENCH_SECONDS=<measured seconds per configuration> (default 15).
import { readGpuResponse } from '@latent-edge/shared/protocol/gpu-client';
import { job, send } from '../../gpu-worker/test/support/jobs.ts';
import { type RunningWorker, startGpuWorker } from '../support/gpu-worker-process.ts';
import { runClosedLoop } from './support/closed-loop.ts';
import { formatLoad, machine } from './support/machine.ts';
import { SD_PROMPTS } from './support/sd-prompts.ts';
import { quantile } from './support/stats.ts';
import {
  type CounterDelta,
  type Counters,
  delta,
  OWN_CONNECTION,
  readCounters,
} from './support/worker-counters.ts';

const CLIENTS = [1, 4, 8];
const MODES = [
  { batching: 'off', maxBatch: 1 },
  { batching: 'on', maxBatch: 8 },
] as const;
/** Jobs started in the first seconds of each configuration fill the queue and batch; not measured. */
const WARMUP_MS = 3_000;
const GOAL = 1.5;

// What a user of the tiny model asks for: 64×64, 20 steps, CFG 7.5, a few schedulers, one image a job.
const SIZE = 64;
const STEPS = 20;
const GUIDANCE_SCALE = 7.5;
const SCHEDULERS = ['euler_ancestral', 'dpmpp_2m_karras', 'ddim', 'euler'];
const NEGATIVES = ['', 'blurry, lowres, bad anatomy, watermark, jpeg artifacts', 'ugly, deformed'];

interface Row extends CounterDelta {
  clients: number;
  batching: string;
  jobs: number;
  imagesPerMin: number;
  p50: number;
  p95: number;
}

const now = () => performance.now();
const fmt = (n: number, digits = 0) =>
  Number.isFinite(n)
    ? n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits })
    : 'n/a';
const percent = (share: number) => `${fmt(share * 100)} %`;

let sent = 0;
function benchJob() {
  const i = sent++;
  const negative = NEGATIVES[i % NEGATIVES.length];
  return job({
    prompt: SD_PROMPTS[i % SD_PROMPTS.length],
    negative,
    negative_prompt_text: negative,
    width: SIZE,
    height: SIZE,
    steps: STEPS,
    guidance_scale: GUIDANCE_SCALE,
    scheduler: SCHEDULERS[i % SCHEDULERS.length],
    seeds: [i + 1],
  });
}

async function generateImages(worker: RunningWorker, signal: AbortSignal): Promise<number> {
  const response = await send(worker.url, benchJob(), { signal, headers: OWN_CONNECTION });
  return (await readGpuResponse(response)).images.length;
}

async function measure(worker: RunningWorker, clients: number, measureMs: number) {
  let before: Counters | undefined;
  let after: Counters | undefined;
  const load = await runClosedLoop((signal) => generateImages(worker, signal), {
    clients,
    warmupMs: WARMUP_MS,
    measureMs,
    onWindowStart: async () => {
      before = await readCounters(worker);
    },
    onWindowEnd: async () => {
      after = await readCounters(worker);
    },
  });
  if (!before || !after) throw new Error('the measurement window did not open and close');
  return {
    jobs: load.latenciesMs.length,
    imagesPerMin: (load.imagesInWindow * 60_000) / load.windowMs,
    p50: quantile(load.latenciesMs, 0.5),
    p95: quantile(load.latenciesMs, 0.95),
    ...delta(before, after),
  };
}

function report(rows: Row[], threads: string, startupMs: number, measureMs: number): string[] {
  const row = (clients: number, batching: string) =>
    rows.find((r) => r.clients === clients && r.batching === batching) as Row;
  const ratio = (clients: number, of: (r: Row) => number) => of(row(clients, 'on')) / of(row(clients, 'off'));
  const ratio8 = ratio(8, (r) => r.imagesPerMin);
  const perCpu = (r: Row) => r.imagesPerMin / r.cpu;
  return [
    `Workers: the real process on 127.0.0.1, bundled tiny-sd on CPU, INTRA_OP_THREADS=${threads}` +
      `${threads === '0' ? ' (onnxruntime chooses)' : ''}; both started in ${fmt(startupMs / 1000, 1)} s. ` +
      `Jobs: ${SIZE}×${SIZE}, ${STEPS} steps, guidance ${GUIDANCE_SCALE}, one image each, schedulers ` +
      `${SCHEDULERS.join(', ')} in turn, ${SD_PROMPTS.length} prompts in turn with and without negatives.`,
    '',
    '| clients | batching | jobs | images/min | p50 ms | p95 ms | mean batch | ms/UNet call | worker CPU |',
    '|---:|---|---:|---:|---:|---:|---:|---:|---:|',
    ...rows.map(
      (r) =>
        `| ${r.clients} | ${r.batching} | ${r.jobs} | ${fmt(r.imagesPerMin, 1)} | ${fmt(r.p50)} | ` +
        `${fmt(r.p95)} | ${fmt(r.meanBatch, 2)} | ${fmt(r.msPerCall, 1)} | ${percent(r.cpu)} |`,
    ),
    '',
    `Throughput batching on / off: ${CLIENTS.map(
      (c) =>
        `${fmt(
          ratio(c, (r) => r.imagesPerMin),
          2,
        )}× at ${c}`,
    ).join(', ')} ` +
      `client(s). Goal ≥${GOAL}× at 8 clients: ${ratio8 >= GOAL ? 'met' : 'NOT met'}. Per worker CPU second ` +
      `(blind to CPU that other processes take): ${fmt(ratio(8, perCpu), 2)}× at 8 clients.`,
    '',
    "Where the batcher loop's time goes (the stages between UNet steps hold up every running job):",
    '',
    '| clients | batching | UNet ms/image-step | in UNet steps | encode ms/job | decode ms/job | PNG ms/job | in other stages |',
    '|---:|---|---:|---:|---:|---:|---:|---:|',
    ...rows.map(
      (r) =>
        `| ${r.clients} | ${r.batching} | ${fmt(r.msPerCall / r.meanBatch, 1)} | ${percent(r.unetBusy)} | ` +
        `${fmt(r.stageMs.encode, 1)} | ${fmt(r.stageMs.decode, 1)} | ${fmt(r.stageMs.image, 1)} | ` +
        `${percent(r.stagesBusy)} |`,
    ),
    '',
    'How it was measured:',
    '- Each client sends a job, waits for its images and sends the next (closed loop), each on a new ' +
      `loopback connection. Per configuration, jobs started in the first ${WARMUP_MS / 1000} s are warm-up; ` +
      `the next ${measureMs / 1000} s are the window. images/min = images of jobs completed inside the ` +
      'window; p50/p95 = latency (send to last byte) of every job started inside the window, while the ' +
      'clients keep the load on with filler jobs that are then aborted (the worker cancels them).',
    '- From /metrics deltas over the window: mean batch = images per UNet call (`latent_edge_batch_size`; ' +
      'a guided image is two UNet rows, so MAX_BATCH=8 is up to 16 rows); ms/UNet call and the share of ' +
      'the window in UNet steps (`latent_edge_step_seconds`, scheduler and guidance math included); ' +
      'encode (text encoder + latents), decode (VAE) and PNG ms per finished job and their share ' +
      '(`latent_edge_stage_seconds`). worker CPU = the process CPU time over the window (100 % = one core).',
  ];
}

export async function run(): Promise<void> {
  const threads = process.env.BENCH_THREADS ?? '0';
  const measureMs = Number(process.env.BENCH_SECONDS ?? 15) * 1000;
  const loadBefore = formatLoad();
  const started = now();

  const workers = new Map<string, RunningWorker>();
  const stopAll = () => Promise.all([...workers.values()].map((w) => w.stop()));
  const onSignal = () => void stopAll().finally(() => process.exit(130));
  process.once('SIGINT', onSignal).once('SIGTERM', onSignal);
  try {
    const starting = await Promise.allSettled(
      MODES.map(async (mode) => {
        const worker = await startGpuWorker({ MAX_BATCH: String(mode.maxBatch), INTRA_OP_THREADS: threads });
        workers.set(mode.batching, worker);
        if (new URL(worker.url).hostname !== '127.0.0.1') throw new Error(`not on loopback: ${worker.url}`);
      }),
    );
    for (const result of starting) if (result.status === 'rejected') throw result.reason;
    const startupMs = now() - started;

    const rows: Row[] = [];
    for (const clients of CLIENTS) {
      for (const mode of MODES) {
        const worker = workers.get(mode.batching) as RunningWorker;
        rows.push({ clients, batching: mode.batching, ...(await measure(worker, clients, measureMs)) });
      }
    }
    const lines = [
      '## gpu-worker: throughput and latency, step-level batching on and off',
      '',
      `Machine: ${machine()}. Load average (1/5/15 min): ${loadBefore} at start, ${formatLoad()} at end.`,
      '',
      ...report(rows, threads, startupMs, measureMs),
      '',
      `(benchmark took ${fmt((now() - started) / 1000, 1)} s)`,
    ];
    console.log(lines.join('\n'));
  } catch (error) {
    for (const [batching, worker] of workers) {
      console.error(`batching ${batching}: the worker's last log lines:\n${worker.logs().slice(-3000)}`);
    }
    throw error;
  } finally {
    process.off('SIGINT', onSignal).off('SIGTERM', onSignal);
    await stopAll();
  }
}
