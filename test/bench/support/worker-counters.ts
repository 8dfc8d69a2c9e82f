// A running gpu-worker's counters at one instant: the batcher's metrics from one /metrics scrape
// (so sums and counts belong together) and the process's CPU time; `delta` turns two readings
// into rates over the time between them.
import { readFileSync } from 'node:fs';
import type { RunningWorker } from '../../support/gpu-worker-process.ts';

/** /proc/<pid>/stat counts CPU time in USER_HZ ticks, 100 a second on Linux. */
const USER_HZ = 100;
/** The job stages the batcher runs between UNet steps, as `latent_edge_stage_seconds` labels them. */
const LOOP_STAGES = ['encode', 'decode', 'image'] as const;
type LoopStage = (typeof LOOP_STAGES)[number];

/**
 * Every request goes on its own connection: reusing an idle keep-alive socket can race the server's
 * 5 s idle close (nodejs/undici#3141) and fail a POST with ECONNRESET that fetch cannot retry.
 * A loopback connect costs well under a millisecond against jobs of hundreds.
 */
export const OWN_CONNECTION = { Connection: 'close' };

export interface Counters {
  at: number;
  /** Images summed over UNet calls, and the calls (`latent_edge_batch_size`). */
  batchImages: number;
  unetCalls: number;
  unetSeconds: number;
  /** Seconds in each loop stage, and the jobs that went through it. */
  stageSeconds: Record<LoopStage, number>;
  stageJobs: Record<LoopStage, number>;
  /** The worker process's CPU seconds (user + system); NaN where there is no /proc. */
  cpuSeconds: number;
}

export interface CounterDelta {
  /** Images per UNet call. */
  meanBatch: number;
  msPerCall: number;
  /** Share of the wall time inside UNet steps, and inside the other loop stages. */
  unetBusy: number;
  stagesBusy: number;
  /** Mean ms per job in each loop stage. */
  stageMs: Record<LoopStage, number>;
  /** Cores' worth of CPU the worker used (1 = one core). */
  cpu: number;
}

function cpuSeconds(pid: number | undefined): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / USER_HZ; // utime, stime: fields 14 and 15
  } catch {
    return Number.NaN;
  }
}

export async function readCounters(worker: RunningWorker): Promise<Counters> {
  const text = await (await fetch(`${worker.url}/metrics`, { headers: OWN_CONNECTION })).text();
  const at = performance.now();
  const cpu = cpuSeconds(worker.process.pid);
  const lines = text.split('\n');
  const value = (name: string, labels = '') =>
    lines
      .filter((line) => (line.startsWith(`${name}{`) || line.startsWith(`${name} `)) && line.includes(labels))
      .reduce((sum, line) => sum + Number(line.slice(line.lastIndexOf(' ') + 1)), 0);
  const stage = (suffix: string) =>
    Object.fromEntries(
      LOOP_STAGES.map((s) => [s, value(`latent_edge_stage_seconds_${suffix}`, `stage="${s}"`)]),
    ) as Record<LoopStage, number>;
  return {
    at,
    batchImages: value('latent_edge_batch_size_sum'),
    unetCalls: value('latent_edge_batch_size_count'),
    unetSeconds: value('latent_edge_step_seconds_sum'),
    stageSeconds: stage('sum'),
    stageJobs: stage('count'),
    cpuSeconds: cpu,
  };
}

export function delta(before: Counters, after: Counters): CounterDelta {
  const wallSeconds = (after.at - before.at) / 1000;
  const calls = after.unetCalls - before.unetCalls;
  const unetSeconds = after.unetSeconds - before.unetSeconds;
  const seconds = (s: LoopStage) => after.stageSeconds[s] - before.stageSeconds[s];
  const stageMs = Object.fromEntries(
    LOOP_STAGES.map((s) => [s, (seconds(s) * 1000) / (after.stageJobs[s] - before.stageJobs[s])]),
  ) as Record<LoopStage, number>;
  return {
    meanBatch: (after.batchImages - before.batchImages) / calls,
    msPerCall: (unetSeconds * 1000) / calls,
    unetBusy: unetSeconds / wallSeconds,
    stagesBusy: LOOP_STAGES.reduce((sum, s) => sum + seconds(s), 0) / wallSeconds,
    stageMs,
    cpu: (after.cpuSeconds - before.cpuSeconds) / wallSeconds,
  };
}
