// What generate() asks of onnxruntime, seen from outside the pipeline: every InferenceSession.run
// of one generation recorded with copies of its feeds and outputs, so the pipeline bench can issue
// the same calls on bare sessions; and timers on given sessions' run(), so a generation's wall time
// splits into model time and the pipeline's own.
import { InferenceSession, Tensor } from 'onnxruntime-node';

export type Graph = 'text_encoder' | 'unet' | 'vae_decoder' | 'vae_encoder';

export interface SessionCall {
  graph: Graph;
  /** The session the pipeline called (for `timeRuns`). */
  session: InferenceSession;
  feeds: Record<string, Tensor>;
  fetches: readonly string[] | undefined;
  outputs: Record<string, Tensor>;
}

type RunArgs = [InferenceSession.FeedsType, ...unknown[]];
type Run = (this: InferenceSession, ...args: RunArgs) => Promise<InferenceSession.ReturnType>;

/** Which graph a session runs, from its input names (model-spec.ts requires these names). */
export function graphOf(session: InferenceSession): Graph {
  const inputs = session.inputNames;
  if (inputs.includes('input_ids')) return 'text_encoder';
  if (inputs.includes('latent_sample')) return 'vae_decoder';
  if (inputs.includes('timestep')) return 'unet';
  if (inputs.includes('sample')) return 'vae_encoder';
  throw new Error(`unknown graph with inputs ${inputs.join(', ')}`);
}

function copyTensors(values: Record<string, unknown>): Record<string, Tensor> {
  const out: Record<string, Tensor> = {};
  for (const [name, value] of Object.entries(values)) {
    if (!(value instanceof Tensor)) throw new Error(`"${name}" is not a tensor`);
    out[name] = new Tensor(value.type, structuredClone(value.data), value.dims);
  }
  return out;
}

/**
 * Runs `action` with `InferenceSession.prototype.run` (found from `anySession`, since the factory
 * type hides the class) recording every call, then restores it.
 */
export async function captureSessionCalls<T>(
  anySession: InferenceSession,
  action: () => Promise<T>,
): Promise<{ result: T; calls: SessionCall[] }> {
  const proto = Object.getPrototypeOf(anySession) as { run: Run };
  const original = proto.run;
  const calls: SessionCall[] = [];
  proto.run = async function (this: InferenceSession, ...args: RunArgs) {
    const outputs = await original.apply(this, args);
    calls.push({
      graph: graphOf(this),
      session: this,
      feeds: copyTensors(args[0]),
      fetches: Array.isArray(args[1]) ? [...(args[1] as string[])] : undefined,
      outputs: copyTensors(outputs),
    });
    return outputs;
  };
  try {
    return { result: await action(), calls };
  } finally {
    proto.run = original;
  }
}

export type RunTotals = Record<Graph, number>;

export const noRuns = (): RunTotals => ({ text_encoder: 0, unet: 0, vae_decoder: 0, vae_encoder: 0 });

/** The process's CPU time (user + system, all threads) in ms: unlike wall time, blind to waiting for a core. */
export function cpuMs(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
}

/** Wall and CPU ms inside run(), per graph. */
export interface RunTimes {
  runMs: RunTotals;
  runCpuMs: RunTotals;
}

/**
 * Runs `action` with a timer on `run()` of each of `sessions` (an own property shadowing the
 * prototype's, removed afterwards); returns the wall and CPU milliseconds inside run() per graph.
 */
export async function timeRuns<T>(
  sessions: readonly InferenceSession[],
  action: () => Promise<T>,
): Promise<RunTimes & { result: T }> {
  const runMs = noRuns();
  const runCpuMs = noRuns();
  for (const session of sessions) {
    const original = (Object.getPrototypeOf(session) as { run: Run }).run;
    const graph = graphOf(session);
    const timed: Run = async function (this: InferenceSession, ...args: RunArgs) {
      const start = performance.now();
      const cpu = cpuMs();
      try {
        return await original.apply(this, args);
      } finally {
        runMs[graph] += performance.now() - start;
        runCpuMs[graph] += cpuMs() - cpu;
      }
    };
    Object.defineProperty(session, 'run', { value: timed, configurable: true, writable: true });
  }
  try {
    return { result: await action(), runMs, runCpuMs };
  } finally {
    for (const session of sessions) delete (session as { run?: unknown }).run;
  }
}

/** The recorded calls, issued in order on `sessions` (one per graph); the time inside each run(). */
export async function runBare(
  sessions: ReadonlyMap<Graph, InferenceSession>,
  calls: readonly SessionCall[],
): Promise<RunTimes & { wallMs: number }> {
  const runMs = noRuns();
  const runCpuMs = noRuns();
  const start = performance.now();
  for (const call of calls) {
    const session = sessions.get(call.graph);
    if (!session) throw new Error(`no bare session for ${call.graph}`);
    const t = performance.now();
    const cpu = cpuMs();
    await (call.fetches ? session.run(call.feeds, call.fetches) : session.run(call.feeds));
    runMs[call.graph] += performance.now() - t;
    runCpuMs[call.graph] += cpuMs() - cpu;
  }
  return { wallMs: performance.now() - start, runMs, runCpuMs };
}

/** "unet ×20: sample float32[2,4,8,8], timestep float32[2], …" for each graph called. */
export function describeCalls(calls: readonly SessionCall[]): string {
  const seen = new Map<Graph, { count: number; call: SessionCall }>();
  for (const call of calls) {
    const entry = seen.get(call.graph);
    if (entry) entry.count++;
    else seen.set(call.graph, { count: 1, call });
  }
  return [...seen]
    .map(
      ([graph, { count, call }]) =>
        `${graph} ×${count} (` +
        Object.entries(call.feeds)
          .map(([name, t]) => `${name} ${t.type}[${t.dims.join(',')}]`)
          .join(', ') +
        ')',
    )
    .join('; ');
}

/**
 * Runs `action` with a timer on every session's run() (InferenceSession.prototype, restored
 * afterwards): wall ms inside run() and the number of calls, per graph.
 */
export async function timeEveryRun<T>(
  action: () => Promise<T>,
): Promise<{ result: T; runMs: RunTotals; runs: RunTotals }> {
  const proto = (InferenceSession as unknown as { prototype: { run: Run } }).prototype;
  const original = proto.run;
  const runMs = noRuns();
  const runs = noRuns();
  proto.run = async function (this: InferenceSession, ...args: RunArgs) {
    const start = performance.now();
    try {
      return await original.apply(this, args);
    } finally {
      const graph = graphOf(this);
      runMs[graph] += performance.now() - start;
      runs[graph]++;
    }
  };
  try {
    return { result: await action(), runMs, runs };
  } finally {
    proto.run = original;
  }
}
