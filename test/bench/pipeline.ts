// The pipeline's overhead: a 20-step txt2img generation through generate() against the bare
// InferenceSession.run calls it makes (the same feeds, recorded from a real generation, on fresh
// sessions opened with the same settings), in the same run on the same model. Also where the
// pipeline's own time goes, a run with a progress listener, peak RSS, heap growth per step, and a
// CPU profile when the overhead misses the goal. `npm run bench -- pipeline`;
// BENCH_MODEL=<model folder> (default: the bundled tiny-sd), BENCH_SIZES=64,512 (square sides;
// 512 on tiny-sd takes ~20 s a generation on 2 busy cores, so the default larger size is 256),
// BENCH_THREADS=<intra-op threads> (default 1), BENCH_PROVIDERS=cuda,cpu (default cpu),
// BENCH_ROUNDS=<timed rounds per size> (default: what fits in PLAN.budgetMs, 5 to 15).
import { spawnSync } from 'node:child_process';
import { relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { InferenceSession } from 'onnxruntime-node';
import { loadDiffusionModel } from '../../gpu-worker/src/model/diffusion-model.ts';
import {
  createSession,
  EXECUTION_PROVIDERS,
  type ExecutionProvider,
  type SessionSettings,
} from '../../gpu-worker/src/model/onnx-session.ts';
import { checkGenerateRequest } from '../../gpu-worker/src/pipeline/check-request.ts';
import { BUNDLED_MODEL, request } from '../../gpu-worker/test/support/models.ts';
import type { GenerateProfile } from './support/generate-profile.ts';
import { formatLoad, machine } from './support/machine.ts';
import {
  breakdownTable,
  fmt,
  label,
  listenerLine,
  memoryLines,
  overheadRows,
  profileLines,
  verdict,
} from './support/pipeline-report.ts';
import { maxRssMb, measureSize, type RoundPlan, type SizeResult } from './support/pipeline-rounds.ts';
import { describeCalls, type Graph } from './support/session-calls.ts';
import { median } from './support/stats.ts';

const STEPS = 20;
const SCHEDULER = 'euler';
const DEFAULT_SIZES = [64, 256];
const PLAN: RoundPlan = { steps: STEPS, budgetMs: 45_000, minRounds: 5, maxRounds: 15 };
const GOAL_PERCENT = 2;
/** The CPU profile (only when the goal is missed) runs about this long. */
const PROFILE_MS = 4_000;

const now = () => performance.now();

function env(): { dir: string; sizes: number[]; settings: SessionSettings; plan: RoundPlan } {
  const sizes = process.env.BENCH_SIZES?.split(',').map(Number) ?? DEFAULT_SIZES;
  if (!sizes.every((s) => Number.isInteger(s) && s > 0)) {
    throw new Error(`BENCH_SIZES: "${process.env.BENCH_SIZES}" must be positive integers, e.g. 64,512`);
  }
  const threads = Number(process.env.BENCH_THREADS ?? 1);
  if (!Number.isInteger(threads) || threads < 0) {
    throw new Error(`BENCH_THREADS: "${process.env.BENCH_THREADS}" must be an integer ≥ 0`);
  }
  const providers = (process.env.BENCH_PROVIDERS ?? 'cpu').split(',') as ExecutionProvider[];
  if (!providers.every((p) => EXECUTION_PROVIDERS.includes(p))) {
    throw new Error(`BENCH_PROVIDERS: "${process.env.BENCH_PROVIDERS}" must be among ${EXECUTION_PROVIDERS}`);
  }
  const rounds = process.env.BENCH_ROUNDS === undefined ? undefined : Number(process.env.BENCH_ROUNDS);
  if (rounds !== undefined && !(Number.isInteger(rounds) && rounds > 0)) {
    throw new Error(`BENCH_ROUNDS: "${process.env.BENCH_ROUNDS}" must be a positive integer`);
  }
  const plan = rounds ? { ...PLAN, minRounds: rounds, maxRounds: rounds } : PLAN;
  const dir = process.env.BENCH_MODEL ? resolve(process.env.BENCH_MODEL) : BUNDLED_MODEL;
  return { dir, sizes, settings: { providers, intraOpThreads: threads, log: console.error }, plan };
}

/** generate() under the V8 profiler in a fresh process (support/generate-profile.ts). */
function profileGenerate(dir: string, s: SizeResult, settings: SessionSettings): GenerateProfile {
  const child = fileURLToPath(new URL('./support/generate-profile.ts', import.meta.url));
  const perGeneration = median(s.rounds.map((r) => r.pipeline.wallMs));
  const count = Math.min(40, Math.max(5, Math.round(PROFILE_MS / perGeneration)));
  // process.execArgv carries tsx's loader, so the child runs TypeScript the way this process does.
  const args = [child, dir, String(s.size), String(count), String(settings.intraOpThreads)];
  const result = spawnSync(process.execPath, [...process.execArgv, ...args], { encoding: 'utf8' });
  if (result.status !== 0) {
    throw new Error(`generate-profile exited with ${result.status}: ${result.stderr || result.error}`);
  }
  return JSON.parse(result.stdout.trim().split('\n').at(-1) ?? '') as GenerateProfile;
}

export async function run(): Promise<void> {
  const loadBefore = formatLoad();
  const started = now();
  const { dir, sizes, settings, plan } = env();
  const model = await loadDiffusionModel(dir, settings);
  const { folder } = model;
  const paths: [Graph, string][] = [
    ['text_encoder', folder.textEncoderPath],
    ['unet', folder.unetPath],
    ['vae_decoder', folder.vaeDecoderPath],
  ];
  const bare = new Map<Graph, InferenceSession>();
  for (const [graph, path] of paths) bare.set(graph, (await createSession(path, settings)).session);
  const rssAfterLoad = maxRssMb();

  const results: SizeResult[] = [];
  const skipped: string[] = [];
  for (const size of sizes) {
    const req = request(model, { steps: STEPS, width: size, height: size, scheduler: SCHEDULER });
    try {
      checkGenerateRequest(model, req);
    } catch (error) {
      skipped.push(`${size}×${size} skipped: ${(error as Error).message}.`);
      continue;
    }
    results.push(await measureSize(model, bare, req, plan));
  }
  await Promise.all([model.release(), ...[...bare.values()].map((s) => s.release())]);
  if (results.length === 0) {
    console.log(`pipeline benchmark: no size ran. ${skipped.join(' ')}`);
    return;
  }
  const verdicts = results.map((s) => verdict(s, GOAL_PERCENT));
  const missed = results.find((_, i) => !verdicts[i].met);
  const profile =
    missed && settings.providers.every((p) => p === 'cpu') && profileGenerate(dir, missed, settings);

  const lines = [
    '## Pipeline overhead: generate() against its bare InferenceSession.run calls',
    '',
    `Machine: ${machine()}. Load average (1/5/15 min): ${loadBefore} at start, ${formatLoad()} at end.`,
    '',
    `Model: ${model.id}@${model.revision.slice(0, 10)} (${relative(process.cwd(), dir) || dir}) on ` +
      `${model.provider}, ${settings.intraOpThreads} intra-op thread(s). Request: gpu-worker/test/support/` +
      `models.ts \`request()\` with ${STEPS} steps ${SCHEDULER}, guidance 7.5 (CFG), seed 1, PNG.`,
    ...results.map((s) => `Calls per generation at ${label(s)}: ${describeCalls(s.calls)}.`),
    ...skipped,
    '',
    '| size | run | wall ms | model ms (Σ session.run) | overhead ms (IQR) | overhead % of model | ' +
      'overhead excl. PNG ms | excl. PNG % |',
    '|---|---|---:|---:|---:|---:|---:|---:|',
    ...results.flatMap((s) => overheadRows(s, 'wall')),
    '',
    'The same runs in CPU time (process.cpuUsage, all threads; PNG CPU time from the replay):',
    '',
    '| size | run | CPU ms | model CPU ms (Σ session.run) | overhead ms (IQR) | overhead % of model | ' +
      'overhead excl. PNG ms | excl. PNG % |',
    '|---|---|---:|---:|---:|---:|---:|---:|',
    ...results.flatMap((s) => overheadRows(s, 'cpu')),
    '',
    `Goal: pipeline overhead ≤ ${GOAL_PERCENT}% of model time. ${verdicts.map((v) => v.text).join('; ')}.`,
    '',
    "### Where the pipeline's own time goes (ms per generation)",
    '',
    ...breakdownTable(results),
    '',
    ...(profile && missed ? profileLines(missed, profile) : []),
    ...results.map((s) => listenerLine(s, STEPS)),
    '',
    ...memoryLines(results, rssAfterLoad),
    '',
    'How it was measured:',
    `- Rounds: ${results.map((s) => `${label(s)} ${s.warmups} warm-up + ${s.rounds.length} timed`).join(', ')}, ` +
      'after one capture generation each. Each round runs its four runs (generate(), with a listener, bare, ' +
      'generate() with timers) in a rotating order; tables show medians, overheads are medians of the ' +
      'per-round differences (IQR in brackets).',
    '- Bare: the session.run calls recorded from a real generation (feeds copied; prompt and negative through ' +
      'the text encoder as generate() does with an empty cache), issued in order on fresh sessions from ' +
      '`createSession` with the same settings; model ms is the sum of the time inside run().',
    '- generate() gets a fresh TextEncoderCache per call, so it makes the same encoder calls. "Its own run() ' +
      "timed\": a timer on the pipeline's own sessions' run() (and, for the breakdown, on the model adapter), " +
      'so the overhead needs no second set of sessions: the least noisy estimate on a busy machine.',
    '- Replay rows: the same functions on the recorded UNet and VAE outputs, without the model, median of ' +
      '21: the code in a tight loop. The in-pipeline rows are what it costs between session runs.',
    `(benchmark took ${fmt((now() - started) / 1000)} s)`,
  ];
  console.log(lines.join('\n'));
}
