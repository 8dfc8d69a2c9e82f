// The pipeline bench's report: overhead rows on the wall and CPU clocks, the breakdown of the
// pipeline's own time, the verdict against the goal, the progress-listener line and the CPU profile.
import type { GenerateProfile } from './generate-profile.ts';
import {
  type AdapterMs,
  type InstrumentedRun,
  modelMs,
  type OwnRunsTimed,
  type PipelineRun,
  type Round,
  type SizeResult,
} from './pipeline-rounds.ts';
import type { Graph, RunTimes, RunTotals } from './session-calls.ts';
import { median, quantile } from './stats.ts';

export const fmt = (n: number, digits = 1) =>
  n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
export const pct = (ms: number, model: number) => `${fmt((100 * ms) / model, 2)}%`;
export const label = (s: SizeResult) => `${s.size}×${s.size}`;
/** Median model time of the runs with their own run() timed, the base of every "% of model". */
export const ownModelMs = (s: SizeResult) => median(s.rounds.map((r) => modelMs(r.instrumented.runMs)));

export type Clock = 'wall' | 'cpu';

interface Overhead {
  totalMs: number;
  modelMs: number;
  /** Median and interquartile range of the per-round differences total − model. */
  overMs: [number, number, number];
  noPngMs: number;
}

/** Total, model and PNG time of one run, on one clock; PNG CPU time comes from the replay. */
interface Measure {
  total: (r: Round) => number;
  model: (r: Round) => number;
  png: (r: Round) => number;
}

function overhead(s: SizeResult, m: Measure): Overhead {
  const over = s.rounds.map((r) => m.total(r) - m.model(r));
  return {
    totalMs: median(s.rounds.map(m.total)),
    modelMs: median(s.rounds.map(m.model)),
    overMs: [median(over), quantile(over, 0.25), quantile(over, 0.75)],
    noPngMs: median(s.rounds.map((r) => m.total(r) - m.png(r) - m.model(r))),
  };
}

type Rows = 'vsBare' | 'listenerVsBare' | 'own' | 'listenerOwn';

function overheads(s: SizeResult, clock: Clock): Record<Rows, Overhead> {
  const total = (run: PipelineRun) => (clock === 'wall' ? run.wallMs : run.cpuMs);
  const model = (runs: RunTimes) => modelMs(clock === 'wall' ? runs.runMs : runs.runCpuMs);
  const png = (run: PipelineRun) => (clock === 'wall' ? run.timingsMs.image : s.replay.pngCpu);
  const of = (pick: (r: Round) => PipelineRun, runs: (r: Round) => RunTimes): Overhead =>
    overhead(s, { total: (r) => total(pick(r)), model: (r) => model(runs(r)), png: (r) => png(pick(r)) });
  const pipeline = (r: Round) => r.pipeline;
  const listener = (r: Round) => r.listener;
  const instrumented = (r: Round) => r.instrumented;
  const bare = (r: Round) => r.bare;
  return {
    vsBare: of(pipeline, bare),
    listenerVsBare: of(listener, bare),
    own: of(instrumented, instrumented),
    listenerOwn: of(listener, listener),
  };
}

export function overheadRows(s: SizeResult, clock: Clock): string[] {
  const o = overheads(s, clock);
  const row = (name: string, x: Overhead, of: string) =>
    `| ${label(s)} | ${name} | ${fmt(x.totalMs)} | ${fmt(x.modelMs)} ${of} | ${fmt(x.overMs[0], 2)} ` +
    `(${fmt(x.overMs[1], 1)} … ${fmt(x.overMs[2], 1)}) | ${pct(x.overMs[0], x.modelMs)} | ` +
    `${fmt(x.noPngMs, 2)} | ${pct(x.noPngMs, x.modelMs)} |`;
  const bareTotal = clock === 'wall' ? (r: Round) => r.bare.wallMs : (r: Round) => modelMs(r.bare.runCpuMs);
  const bareModel = (r: Round) => modelMs(clock === 'wall' ? r.bare.runMs : r.bare.runCpuMs);
  return [
    `| ${label(s)} | bare session.run, fresh sessions | ${fmt(median(s.rounds.map(bareTotal)))} | ` +
      `${fmt(median(s.rounds.map(bareModel)))} | | | | |`,
    row('generate()', o.vsBare, '(bare)'),
    row('generate() with a progress listener', o.listenerVsBare, '(bare)'),
    row('generate(), its own run() timed', o.own, '(own)'),
    row('generate() with a progress listener, its own run() timed', o.listenerOwn, '(own)'),
  ];
}

/** [label, ms per generation]: medians of the instrumented runs, and the replay. */
function breakdown(s: SizeResult): [string, number][] {
  const m = (pick: (r: InstrumentedRun) => number) => median(s.rounds.map((r) => pick(r.instrumented)));
  const adapter = (r: InstrumentedRun, key: keyof AdapterMs, graph: Graph) =>
    r.adapterMs[key] - r.runMs[graph];
  const t = s.replay;
  const run = (graph: keyof RunTotals) => m((r) => r.runMs[graph]);
  return [
    ['text encoder session.run', run('text_encoder')],
    ['UNet session.run', run('unet')],
    ['VAE decoder session.run', run('vae_decoder')],
    ["**pipeline's own time** (wall − session.run)", m((r) => r.wallMs - modelMs(r.runMs))],
    [
      '· model adapter: Tensor building, fp16 conversion, output (diffusion-model.ts)',
      m(
        (r) =>
          adapter(r, 'encodeText', 'text_encoder') +
          adapter(r, 'predictNoise', 'unet') +
          adapter(r, 'decodeLatents', 'vae_decoder'),
      ),
    ],
    [
      '· 1–2. prompt encoding + latents, adapter excluded',
      m((r) => r.timingsMs.encode - r.adapterMs.encodeText),
    ],
    ['   ↳ replay: TorchGenerator + createScheduler + initialLatents', t.prepareLatents],
    ['· 3. denoise loop, adapter excluded', m((r) => r.timingsMs.denoise - r.adapterMs.predictNoise)],
    ['   ↳ replay: the whole denoiseStep loop, UNet outputs replayed', t.denoiseLoop],
    ['   ↳ replay: scheduler.scaleModelInput', t.scaleModelInput],
    ['   ↳ replay: batch building (sample ×2, timesteps)', t.batchBuilding],
    ['   ↳ replay: guidance (applyGuidance)', t.guidance],
    ['   ↳ replay: scheduler.step', t.schedulerStep],
    [
      '· 4. decode, adapter excluded (latent scaling, decodedToRgb)',
      m((r) => r.timingsMs.decode - r.adapterMs.decodeLatents),
    ],
    ['· 5. PNG encoding (sharp + text chunks; not model time)', m((r) => r.timingsMs.image)],
    ['   ↳ replay: encodeImage to PNG, wall', t.png],
    ['   ↳ replay: encodeImage to PNG, CPU (sharp works on the libuv pool)', t.pngCpu],
    [
      '· between the phases (awaits, result)',
      m((r) => r.wallMs - r.timingsMs.encode - r.timingsMs.denoise - r.timingsMs.decode - r.timingsMs.image),
    ],
  ];
}

/** Judged on CPU time, own run() timed: the estimate that waiting for a core on a busy machine cannot move. */
export function verdict(s: SizeResult, goalPercent: number): { met: boolean; text: string } {
  const cpu = overheads(s, 'cpu');
  const wall = overheads(s, 'wall');
  const p = (x: Overhead, ms: number) => (100 * ms) / x.modelMs;
  const both = (x: Overhead) => `${fmt(p(x, x.overMs[0]), 2)}% (${fmt(p(x, x.noPngMs), 2)}% without PNG)`;
  const withPng = p(cpu.own, cpu.own.overMs[0]) <= goalPercent;
  const withoutPng = p(cpu.own, cpu.own.noPngMs) <= goalPercent;
  const met = withPng && withoutPng;
  return {
    met,
    text:
      `${label(s)}: ${withPng ? 'met' : 'NOT met'} with PNG encoding, ${withoutPng ? 'met' : 'NOT met'} ` +
      `without, by CPU time of generate() with its own run() timed: ${both(cpu.own)}; CPU vs bare ` +
      `${both(cpu.vsBare)}; wall own ${both(wall.own)}; wall vs bare ${both(wall.vsBare)}`,
  };
}

export function listenerLine(s: SizeResult, steps: number): string {
  const l = s.rounds.map((r) => r.listener);
  const interval = median(l.flatMap((r) => r.stepMs.slice(1).map((t, i) => t - r.stepMs[i])));
  const own = (x: OwnRunsTimed, clock: Clock) =>
    clock === 'wall' ? x.wallMs - modelMs(x.runMs) : x.cpuMs - modelMs(x.runCpuMs);
  const added = (clock: Clock) =>
    fmt(median(s.rounds.map((r) => own(r.listener, clock) - own(r.instrumented, clock))), 3);
  return (
    `Progress listener at ${label(s)}: ${Math.min(...l.map((r) => r.steps))}/${steps} steps recorded in ` +
    `every run; first step after ${fmt(median(l.map((r) => r.stepMs[0])))} ms, then one every ` +
    `${fmt(interval, 2)} ms (median). Own time with the listener − without (median of pairs): ` +
    `${added('cpu')} ms CPU, ${added('wall')} ms wall per generation.`
  );
}

/** onnxruntime-node runs each session inside a setImmediate callback (dist/backend.js): these frames are session.run. */
const IN_SESSION_RUN = /onnxruntime|node:internal\/(timers|async_hooks)|toggleImmediateRef/;

export function profileLines(s: SizeResult, p: GenerateProfile): string[] {
  const model = ownModelMs(s);
  return [
    `### CPU profile of generate() at ${label(s)} (the goal was missed): top self time`,
    '',
    `${fmt(p.wallMsPerGeneration)} ms per generation under the profiler; native code without a JS frame ` +
      `(the session runs) ${fmt(p.nativeMs)} ms, idle ${fmt(p.idleMs, 2)} ms. Self time inside ` +
      "onnxruntime's JavaScript and its setImmediate hop is part of session.run, i.e. model time above.",
    '',
    '| function (file) | ms per generation | % of model time |',
    '|---|---:|---:|',
    ...p.top.map(
      ([name, ms]) =>
        `| ${name}${IN_SESSION_RUN.test(name) ? ' (in session.run)' : ''} | ${fmt(ms, 3)} | ${pct(ms, model)} |`,
    ),
    '',
  ];
}

/** The breakdown as a markdown table, one pair of columns per size. */
export function breakdownTable(results: readonly SizeResult[]): string[] {
  const parts = results.map(breakdown);
  return [
    `| part | ${results.map((s) => `${label(s)} ms | % of model`).join(' | ')} |`,
    `|---|${results.map(() => '---:|---:').join('|')}|`,
    ...parts[0].map(([name], i) => {
      const cells = results.map(
        (s, k) => `${fmt(parts[k][i][1], 3)} | ${pct(parts[k][i][1], ownModelMs(s))}`,
      );
      return `| ${name} | ${cells.join(' | ')} |`;
    }),
  ];
}

export function memoryLines(results: readonly SizeResult[], rssAfterLoadMb: number): string[] {
  return [
    `Peak RSS (process.resourceUsage().maxRSS; pipeline and bare sessions both open): ${fmt(rssAfterLoadMb, 0)} MB ` +
      `after loading; ${results.map((s) => `${fmt(s.maxRssMb, 0)} MB after ${label(s)}`).join(', ')}.`,
    ...results.map(
      (s) =>
        `Heap per step at ${label(s)} (one warm generate() between full GCs, memoryUsage() in onStep, median of ` +
        `step-to-step deltas): heapUsed +${fmt(s.memory.heapKbPerStep)} KB, arrayBuffers ` +
        `+${fmt(s.memory.arrayBufferKbPerStep)} KB allocated per step; retained after the run and a full GC: ` +
        `${fmt(s.memory.retainedKb)} KB.`,
    ),
  ];
}
