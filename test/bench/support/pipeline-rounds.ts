// The measurements of the pipeline bench at one image size: a capture generation (every
// session.run recorded), then rounds of four runs in a rotating order: generate() untouched,
// generate() with a progress listener, the recorded calls on bare sessions, and generate() with
// timers on its own sessions and on the model adapter. Then the same math replayed without the
// model, and the memory one generation allocates per step.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { InferenceSession, Tensor } from 'onnxruntime-node';
import { readPngText } from '../../../gpu-worker/src/image/png-text.ts';
import type { DiffusionModel } from '../../../gpu-worker/src/model/diffusion-model.ts';
import { float16ToFloat32 } from '../../../gpu-worker/src/model/float16.ts';
import {
  type GenerateRequest,
  type GenerateResult,
  generate,
} from '../../../gpu-worker/src/pipeline/generate.ts';
import { TextEncoderCache } from '../../../gpu-worker/src/pipeline/text-encoder-cache.ts';
import { type ReplayMs, replayPipelineMath } from './denoise-replay.ts';
import {
  captureSessionCalls,
  cpuMs,
  describeCalls,
  type Graph,
  type RunTimes,
  type RunTotals,
  runBare,
  type SessionCall,
  timeRuns,
} from './session-calls.ts';
import { median } from './stats.ts';

export interface PipelineRun {
  wallMs: number;
  /** The process's CPU time during the generation. */
  cpuMs: number;
  timingsMs: GenerateResult['timingsMs'];
}
/** Plus the wall and CPU time inside the pipeline's own sessions' run(). */
export interface OwnRunsTimed extends PipelineRun, RunTimes {}
export interface ListenerRun extends OwnRunsTimed {
  /** When each onStep call came, from the start of generate(). */
  stepMs: number[];
  steps: number;
}
export type AdapterMs = Record<'encodeText' | 'predictNoise' | 'decodeLatents', number>;
export interface InstrumentedRun extends OwnRunsTimed {
  /** Inside the model adapter's functions (diffusion-model.ts), run() included. */
  adapterMs: AdapterMs;
}
export interface Round {
  pipeline: PipelineRun;
  listener: ListenerRun;
  bare: RunTimes & { wallMs: number };
  instrumented: InstrumentedRun;
}
export interface StepMemory {
  heapKbPerStep: number;
  arrayBufferKbPerStep: number;
  retainedKb: number;
}
export interface SizeResult {
  size: number;
  warmups: number;
  rounds: Round[];
  calls: SessionCall[];
  replay: ReplayMs;
  memory: StepMemory;
  maxRssMb: number;
}
export interface RoundPlan {
  steps: number;
  /** Warm-up and timed rounds fit in about this long, within minRounds..maxRounds timed rounds. */
  budgetMs: number;
  minRounds: number;
  maxRounds: number;
}

const now = () => performance.now();

export const maxRssMb = () => process.resourceUsage().maxRSS / 1024;
export const modelMs = (runMs: RunTotals) =>
  runMs.text_encoder + runMs.unet + runMs.vae_decoder + runMs.vae_encoder;

/** A full GC on demand: --expose-gc set at run time, then `gc` taken from a fresh context. */
function collector(): () => void {
  if (typeof globalThis.gc === 'function') return globalThis.gc;
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}

/** The model with a timer on each adapter function the pipeline calls. */
function timedAdapter(model: DiffusionModel, ms: AdapterMs): DiffusionModel {
  const time =
    <A extends unknown[], R>(key: keyof AdapterMs, fn: (...args: A) => Promise<R>) =>
    async (...args: A) => {
      const start = now();
      try {
        return await fn(...args);
      } finally {
        ms[key] += now() - start;
      }
    };
  return {
    ...model,
    textEncoders: model.textEncoders.map((encoder) => ({
      ...encoder,
      encode: time('encodeText', encoder.encode),
    })),
    predictNoise: time('predictNoise', model.predictNoise),
    decodeLatents: time('decodeLatents', model.decodeLatents),
  };
}

/** A fresh text encoder cache each time, so every generation makes the same encoder calls. */
async function timeGenerate(model: DiffusionModel, req: GenerateRequest): Promise<PipelineRun> {
  const start = now();
  const cpu = cpuMs();
  const result = await generate(model, req, new TextEncoderCache());
  return { wallMs: now() - start, cpuMs: cpuMs() - cpu, timingsMs: result.timingsMs };
}

async function stepMemory(model: DiffusionModel, req: GenerateRequest): Promise<StepMemory> {
  const gc = collector();
  // ArrayBuffer backing stores are freed after the GC that finds them dead: collect, wait, collect.
  const settled = async () => {
    gc();
    await new Promise((resolve) => setTimeout(resolve, 50));
    gc();
    return process.memoryUsage();
  };
  const before = await settled();
  const marks: NodeJS.MemoryUsage[] = [];
  await generate(model, { ...req, onStep: () => marks.push(process.memoryUsage()) }, new TextEncoderCache());
  const after = await settled();
  const perStep = (key: 'heapUsed' | 'arrayBuffers') =>
    median(marks.slice(1).map((m, i) => m[key] - marks[i][key])) / 1024;
  return {
    heapKbPerStep: perStep('heapUsed'),
    arrayBufferKbPerStep: perStep('arrayBuffers'),
    retainedKb: (after.heapUsed + after.arrayBuffers - before.heapUsed - before.arrayBuffers) / 1024,
  };
}

function floats(tensor: Tensor): Float32Array {
  if (tensor.type === 'float16') return float16ToFloat32(tensor.data as Uint16Array);
  return tensor.data as Float32Array;
}

export async function measureSize(
  model: DiffusionModel,
  bare: ReadonlyMap<Graph, InferenceSession>,
  req: GenerateRequest,
  plan: RoundPlan,
): Promise<SizeResult> {
  // The first generation, every session.run recorded: the calls the bare runs repeat.
  const anySession = bare.values().next().value as InferenceSession;
  const captureStart = now();
  const { result: first, calls } = await captureSessionCalls(anySession, () =>
    generate(model, req, new TextEncoderCache()),
  );
  const captureMs = now() - captureStart;
  const unetCalls = calls.filter((c) => c.graph === 'unet');
  const decoderCall = calls.find((c) => c.graph === 'vae_decoder');
  if (
    unetCalls.length !== plan.steps ||
    unetCalls.some((c) => c.feeds.sample.dims[0] !== 2) ||
    !decoderCall
  ) {
    throw new Error(`expected ${plan.steps} UNet calls of batch 2 and a decode; got ${describeCalls(calls)}`);
  }
  const pipelineSessions = [...new Set(calls.map((c) => c.session))];
  // The bare sessions' first run at this size (arena growth) before any warm-up round.
  await runBare(bare, calls);

  const variants: ((round: Partial<Round>) => Promise<void>)[] = [
    async (round) => {
      round.pipeline = await timeGenerate(model, req);
    },
    async (round) => {
      const stepMs: number[] = [];
      let steps = 0;
      const start = now();
      const onStep = (step: number) => {
        steps = step;
        stepMs.push(now() - start);
      };
      const { result, ...runs } = await timeRuns(pipelineSessions, () =>
        timeGenerate(model, { ...req, onStep }),
      );
      round.listener = { ...result, ...runs, stepMs, steps };
    },
    async (round) => {
      round.bare = await runBare(bare, calls);
    },
    async (round) => {
      const adapterMs: AdapterMs = { encodeText: 0, predictNoise: 0, decodeLatents: 0 };
      const timed = timedAdapter(model, adapterMs);
      const { result, ...runs } = await timeRuns(pipelineSessions, () => timeGenerate(timed, req));
      round.instrumented = { ...result, ...runs, adapterMs };
    },
  ];
  const roundMs = captureMs * variants.length;
  const warmups = roundMs < 3000 ? 3 : 1;
  const fits = Math.floor((plan.budgetMs - warmups * roundMs) / roundMs);
  const count = Math.min(plan.maxRounds, Math.max(plan.minRounds, fits));
  const rounds: Round[] = [];
  for (let r = 0; r < warmups + count; r++) {
    const round: Partial<Round> = {};
    // The order rotates, so load drifts on a busy machine hit every variant alike.
    for (let k = 0; k < variants.length; k++) await variants[(r + k) % variants.length](round);
    if (r >= warmups) rounds.push(round as Round);
  }

  const hidden = unetCalls[0].feeds.encoder_hidden_states;
  const replay = await replayPipelineMath({
    schedulerConfig: model.schedulerConfig,
    scheduler: req.scheduler,
    steps: req.steps,
    seed: req.seeds[0],
    guidanceScale: req.guidanceScale,
    guidanceRescale: req.guidanceRescale,
    latentShape: [1, model.spec.latentChannels, req.height / 8, req.width / 8],
    width: req.width,
    height: req.height,
    vaeScalingFactor: model.folder.vaeScalingFactor,
    hiddenLength: hidden.data.length / 2,
    sequenceLength: hidden.dims[1],
    unetOutputs: unetCalls.map((c) => floats(Object.values(c.outputs)[0])),
    decoded: floats(Object.values(decoderCall.outputs)[0]),
    pngText: readPngText(first.images[0].bytes),
  });
  const memory = await stepMemory(model, req);
  return { size: req.width, warmups, rounds, calls, replay, memory, maxRssMb: maxRssMb() };
}
