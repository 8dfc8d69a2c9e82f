// The edge Worker's own CPU time per request, which workerd does not report: edge-cpu-harness.js
// runs the request N times through the deploy bundle and, separately, N times only the binding
// calls the edge made for it (recorded from one real request). Both run inside the same workerd
// process, whose CPU time is read around each; their difference over N is the Worker's CPU, without
// the local KV, R2 and Durable Object simulators (separate services in production, and billed
// there, not as Worker CPU) and without HTTP parsing. (performance.now() inside local workerd does
// advance during CPU work, but in steps of a millisecond or more, and it would count the time the
// simulators run between the Worker's awaits.)
import { copyFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Miniflare, WorkerOptions } from 'miniflare';
import type { EdgeBundle } from './edge-bundle.ts';
import { median, quantile } from './stats.ts';
import { processCpuMs } from './workerd-process.ts';

export const HARNESS = 'edge-cpu-harness';

export interface CpuRun {
  /** Requests whose binding calls are recorded (after one that fills the isolate's memory). */
  recorded: number;
  /** Requests per mode and round; rounds alternate edge and replay, so drift hits both alike. */
  requests: number;
  rounds: number;
  /** Unmeasured requests of each mode first (JIT, caches). */
  warmup: number;
}

export interface WorkerCpu {
  /**
   * The binding calls the recorded requests made, e.g. "RATE_LIMITER.getByName.lease": how many
   * per request, and each call's workerd CPU ms.
   */
  calls: { call: string; perRequest: number; ms: number }[];
  /** workerd CPU ms per request through the edge, and for its binding calls alone (medians of the rounds). */
  edgeMs: number;
  replayMs: number;
  /** The edge Worker's own CPU ms per request: the median of the rounds' differences, and their quartiles. */
  workerMs: number;
  workerMsQuartiles: [number, number];
  /**
   * The least disturbed estimate: the fastest edge round − the fastest replay round. Other processes
   * only ever add CPU time (cold caches after a switch), never take it away.
   */
  workerMsFastest: number;
}

/** Miniflare options for the harness: the edge's bindings, beside the edge's bundle (it imports it). */
export function harnessOptions(bundle: EdgeBundle, bindings: Record<string, string>): WorkerOptions {
  const module = `${HARNESS}.js`;
  copyFileSync(new URL(`./${module}`, import.meta.url), join(bundle.dir, module));
  // The edge consumes the jobs queue; a queue has one consumer.
  return { ...bundle.options(bindings, { name: HARNESS, module }), queueConsumers: undefined };
}

export async function measureWorkerCpu(
  mf: Miniflare,
  workerdPid: number,
  request: { headers: Record<string, string>; body: string },
  run: CpuRun,
): Promise<WorkerCpu> {
  const harness = await mf.getWorker(HARNESS);
  const call = async <T>(query: string): Promise<T> => {
    const response = await harness.fetch(`http://127.0.0.1/?${query}`, { method: 'POST', ...request });
    if (!response.ok) throw new Error(`harness ?${query}: ${response.status} ${await response.text()}`);
    return (await response.json()) as T;
  };
  /** workerd CPU ms per request of `n` requests in `mode`. */
  const timed = async (mode: string, n: number): Promise<number> => {
    const before = processCpuMs(workerdPid);
    const { failures } = await call<{ failures: number }>(`mode=${mode}&n=${n}`);
    const cpu = processCpuMs(workerdPid) - before;
    if (failures > 0) throw new Error(`harness: ${failures} of ${n} requests were not a 200 cache hit`);
    return cpu / n;
  };

  const record = await call<{ failures: number; calls: { call: string; perRequest: number }[] }>(
    `mode=record&n=${run.recorded}`,
  );
  if (record.failures > 0) {
    throw new Error(`harness: ${record.failures} of the recorded requests were not a 200 cache hit`);
  }
  await timed('edge', run.warmup);
  await timed('replay', run.warmup);
  const edge: number[] = [];
  const replay: number[] = [];
  for (let round = 0; round < run.rounds; round++) {
    edge.push(await timed('edge', run.requests));
    replay.push(await timed('replay', run.requests));
  }
  const calls: WorkerCpu['calls'] = [];
  for (const { call: name, perRequest } of record.calls) {
    calls.push({ call: name, perRequest, ms: await timed(`replay&only=${name}`, run.requests) });
  }
  const differences = edge.map((ms, i) => ms - replay[i]);
  return {
    calls,
    edgeMs: median(edge),
    replayMs: median(replay),
    workerMs: median(differences),
    workerMsQuartiles: [quantile(differences, 0.25), quantile(differences, 0.75)],
    workerMsFastest: Math.min(...edge) - Math.min(...replay),
  };
}
