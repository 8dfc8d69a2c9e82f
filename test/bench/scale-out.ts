// Scale-out over queues against direct push, in the same run, on loopback only:
//   1. Added latency at low load: one request at a time (each a cache miss: a new prompt), p50
//      and p95 of POST /v1/images through the push stack (edge → one gpu-worker URL) and through
//      the scale-out stack (edge → queue binding → bridge → fake Queues API → pulling worker →
//      claim → result → edge), each with one worker.
//   2. Throughput at saturation: images/s with one pulling worker and with two, 16 requests
//      kept in flight (four keys, so fair share does not cap it below the 8 slots).
//   3. Contention: a light key's p95 alone, and while a heavy key keeps 16 requests in flight
//      (MAX_IN_FLIGHT_PER_KEY 2, two workers).
// `npm run bench -- scale-out`; BENCH_REQUESTS=<sequential requests per latency run> (default 20).
import { startTestStack, type TestStack } from '../support/local-stack.ts';
import { type ScaleOutStack, startScaleOutStack } from '../support/scale-out-stack.ts';
import { formatLoad, machine } from './support/machine.ts';
import { quantile } from './support/stats.ts';

const SEQUENTIAL = Number(process.env.BENCH_REQUESTS ?? 20);
const SATURATION_REQUESTS = 48;
/**
 * Saturation is also run at 256×256 (16× the pixels of 64×64): there each image costs the worker
 * about a second of one core, so what saturates is the workers, as with GPUs. At 64×64 a job's
 * compute is as small as the edge's own work per job (workerd, wrangler, the bridge and the fake,
 * all on the same two cores), which then caps both runs alike.
 */
const HEAVY_SIZE = 256;
const IN_FLIGHT = 16;
const WORKER_ENV = { MAX_BATCH: '4', PULL_IDLE_MAX_MS: '200' };
/** An idle worker polls after 50, 100, 200 ms…: at low load most of the added latency is that wait. */
const FAST_POLL = { PULL_IDLE_MAX_MS: '50' };
/** Far above what the run sends: the rate limiter runs on every request and never refuses. */
const UNLIMITED = { RATE_LIMIT_REQUESTS: '10000', RATE_LIMIT_WINDOW_SECONDS: '1' };
let promptCounter = 0;

async function generate(edgeUrl: string, key: string, size?: number): Promise<number> {
  const started = performance.now();
  const response = await fetch(`${edgeUrl}/v1/images`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${key}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({
      prompt: `a bench lighthouse ${Date.now()} ${promptCounter++}`,
      seed: 1,
      ...(size ? { width: size, height: size } : {}),
    }),
  });
  const body = await response.text();
  if (response.status !== 200) throw new Error(`${response.status}: ${body}`);
  return performance.now() - started;
}

async function sequential(edgeUrl: string, key: string, count: number): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < count; i++) times.push(await generate(edgeUrl, key));
  return times;
}

/** `total` requests with `inFlight` at a time, alternating `keys`; images per second. */
async function saturate(
  edgeUrl: string,
  keys: string[],
  total: number,
  inFlight: number,
  size?: number,
): Promise<number> {
  let next = 0;
  const started = performance.now();
  const lane = async () => {
    while (next < total) {
      const i = next++;
      await generate(edgeUrl, keys[i % keys.length], size);
    }
  };
  await Promise.all(Array.from({ length: inFlight }, lane));
  return total / ((performance.now() - started) / 1000);
}

const ms = (values: number[], q: number) => quantile(values, q).toFixed(0);

export async function run(): Promise<void> {
  const loadBefore = formatLoad();
  const rows: string[] = [];

  // 1a. Push baseline: the stack `npm start` runs.
  let push: TestStack | undefined;
  let pushTimes: number[];
  try {
    push = await startTestStack({ edgeVars: UNLIMITED });
    await sequential(push.stack.edgeUrl, push.info.apiKey, 3);
    pushTimes = await sequential(push.stack.edgeUrl, push.info.apiKey, SEQUENTIAL);
  } finally {
    await push?.close();
  }

  let scaleOut: ScaleOutStack | undefined;
  try {
    scaleOut = await startScaleOutStack({
      workers: 1,
      extraKeys: 4,
      workerEnv: WORKER_ENV,
      edgeVars: { ...UNLIMITED, MAX_IN_FLIGHT_PER_KEY: '2' },
    });
    const { edgeUrl } = scaleOut.stack.stack;
    const key = scaleOut.stack.info.apiKey;
    const [second, third, fourth, light] = scaleOut.stack.extraKeys;
    // 1b. The same requests over the queues, one pulling worker.
    await sequential(edgeUrl, key, 3);
    const pullTimes = await sequential(edgeUrl, key, SEQUENTIAL);
    // The same with an idle worker polling at most every 50 ms.
    await scaleOut.workers[0].stop();
    scaleOut.workers[0] = await scaleOut.startWorker('worker-fast-poll', FAST_POLL);
    await sequential(edgeUrl, key, 3);
    const fastPollTimes = await sequential(edgeUrl, key, SEQUENTIAL);
    await scaleOut.workers[0].stop();
    scaleOut.workers[0] = await scaleOut.startWorker('worker-0');
    rows.push(
      '| path | p50 ms | p95 ms |',
      '|---|---|---|',
      `| push (edge → worker URL) | ${ms(pushTimes, 0.5)} | ${ms(pushTimes, 0.95)} |`,
      `| pull (edge → queue → worker), idle poll ≤ 200 ms | ${ms(pullTimes, 0.5)} | ${ms(pullTimes, 0.95)} |`,
      `| pull, idle poll ≤ 50 ms | ${ms(fastPollTimes, 0.5)} | ${ms(fastPollTimes, 0.95)} |`,
      `| added by pull (≤ 200 / ≤ 50 ms poll) | ${(quantile(pullTimes, 0.5) - quantile(pushTimes, 0.5)).toFixed(0)} / ${(quantile(fastPollTimes, 0.5) - quantile(pushTimes, 0.5)).toFixed(0)} | |`,
      '',
    );

    // 2. Saturation, one worker then two: four keys of cap 2 can fill both workers' 8 slots.
    const keys = [key, second, third, fourth];
    const oneWorker = await saturate(edgeUrl, keys, SATURATION_REQUESTS, IN_FLIGHT);
    const oneWorkerHeavy = await saturate(edgeUrl, keys, SATURATION_REQUESTS / 2, IN_FLIGHT, HEAVY_SIZE);
    scaleOut.workers.push(await scaleOut.startWorker('worker-1'));
    const twoWorkers = await saturate(edgeUrl, keys, SATURATION_REQUESTS, IN_FLIGHT);
    const twoWorkersHeavy = await saturate(edgeUrl, keys, SATURATION_REQUESTS / 2, IN_FLIGHT, HEAVY_SIZE);
    rows.push(
      `| pulling workers | images/s 64×64 | vs one | images/s ${HEAVY_SIZE}×${HEAVY_SIZE} | vs one |`,
      '|---|---|---|---|---|',
      `| 1 | ${oneWorker.toFixed(2)} | 1.00× | ${oneWorkerHeavy.toFixed(3)} | 1.00× |`,
      `| 2 | ${twoWorkers.toFixed(2)} | ${(twoWorkers / oneWorker).toFixed(2)}× | ${twoWorkersHeavy.toFixed(3)} | ${(twoWorkersHeavy / oneWorkerHeavy).toFixed(2)}× |`,
      '',
    );

    // 3. A light key alone, then while a heavy key floods.
    const alone = await sequential(edgeUrl, light, SEQUENTIAL);
    let flooding = true;
    const heavyLanes = Array.from({ length: IN_FLIGHT }, async () => {
      while (flooding) await generate(edgeUrl, key);
    });
    const contended = await sequential(edgeUrl, light, SEQUENTIAL);
    flooding = false;
    await Promise.all(heavyLanes);
    rows.push(
      '| light key | p50 ms | p95 ms |',
      '|---|---|---|',
      `| alone | ${ms(alone, 0.5)} | ${ms(alone, 0.95)} |`,
      `| while a heavy key keeps ${IN_FLIGHT} in flight | ${ms(contended, 0.5)} | ${ms(contended, 0.95)} |`,
      `| p95 ratio | | ${(quantile(contended, 0.95) / quantile(alone, 0.95)).toFixed(2)}× |`,
    );
  } finally {
    await scaleOut?.close();
  }
  rows.push(
    '',
    `Machine: ${machine()}. Load average (1/5/15 min): ${loadBefore} at start, ${formatLoad()} at end.`,
  );
  console.log(rows.join('\n'));
}
