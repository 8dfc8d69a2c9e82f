// Full-size models through the real gpu-worker (issue 14): every model folder under
// FULL_MODELS_DIR (architecture-exact random-weight SD 1.5, SD 2.1 and SDXL built by
// `python3 -m infra.model.full_size`, not committed) at its native size. Per folder:
//   1. the bare baseline: a fresh process opening every graph with InferenceSession.create;
//   2. the real gpu-worker process: spawn → /readyz (load + warm-up), then one signed job at the
//      native size ("from folder to first image"), and the process's peak RSS (VmHWM);
//   3. in this process, the same generation with a timer on every session.run: the pipeline's
//      own time per UNet call outside session.run, against the model's.
// `npm run bench -- full-size`; FULL_MODELS_DIR=/work/full-models, BENCH_FULL=sd15-fp32,sdxl-fp32
// (folders to run; default all), BENCH_STEPS (default 2), BENCH_GUIDANCE (default 7.5),
// BENCH_THREADS (intra-op threads, default 2). Skips with a message when the folder is absent.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadTokenizerDir } from '@latent-edge/shared/node/tokenizer-dir';
import { tokenizeWeighted } from '@latent-edge/shared/prompt/prompt-chunks';
import { readGpuResponse, signedJobRequest } from '@latent-edge/shared/protocol/gpu-client';
import { loadDiffusionModel } from '../../gpu-worker/src/model/diffusion-model.ts';
import { openModelFolder } from '../../gpu-worker/src/model/model-folder.ts';
import { generate } from '../../gpu-worker/src/pipeline/generate.ts';
import { TextEncoderCache } from '../../gpu-worker/src/pipeline/text-encoder-cache.ts';
import { request } from '../../gpu-worker/test/support/models.ts';
import { startGpuWorker, TEST_GPU_SECRET } from '../support/gpu-worker-process.ts';
import { formatLoad, machine } from './support/machine.ts';
import { timeEveryRun } from './support/session-calls.ts';

const PROMPT = 'a photograph of an astronaut riding a horse on the moon, detailed, 8k';
const NEGATIVE = 'blurry, low quality';
const ORDER = ['sd15', 'sd21', 'sdxl'];
const LOAD_TIMEOUT_MS = 60 * 60_000;

interface Row {
  name: string;
  size: number;
  gib: number;
  bare: { totalMs: number; maxRssMb: number };
  readyMs: number;
  jobMs: number;
  workerPeakRssMb: number;
  unetCalls: number;
  unetMs: number;
  denoiseMs: number;
  totalMs: number;
  modelMs: number;
}

const now = () => performance.now();
const fmt = (ms: number) => (ms >= 10_000 ? `${(ms / 1000).toFixed(0)} s` : `${(ms / 1000).toFixed(1)} s`);

function settings() {
  const number = (name: string, fallback: number) => {
    const value = Number(process.env[name] ?? fallback);
    if (!Number.isFinite(value) || value < 0)
      throw new Error(`${name}: "${process.env[name]}" is not a number ≥ 0`);
    return value;
  };
  return {
    steps: number('BENCH_STEPS', 2),
    guidance: number('BENCH_GUIDANCE', 7.5),
    threads: number('BENCH_THREADS', 2),
  };
}

function folderBytes(dir: string): number {
  let total = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) total += statSync(join(entry.parentPath, entry.name)).size;
  }
  return total;
}

/** Peak resident set of a live process (Linux VmHWM), in MB. */
function peakRssMb(pid: number | undefined): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/^VmHWM:\s+(\d+) kB/m.exec(status)?.[1] ?? Number.NaN) / 1024;
}

function bareCreate(dir: string, threads: number): { totalMs: number; maxRssMb: number } {
  const child = fileURLToPath(new URL('./support/bare-create.ts', import.meta.url));
  const result = spawnSync(process.execPath, [...process.execArgv, child, dir, String(threads)], {
    encoding: 'utf8',
  });
  if (result.status !== 0) throw new Error(`bare-create exited with ${result.status}: ${result.stderr}`);
  return JSON.parse(result.stdout.trim().split('\n').at(-1) ?? '');
}

/** The job the edge would send for PROMPT: ids for each text encoder the folder has. */
function jobFor(dir: string, id: string, size: number, steps: number, guidance: number) {
  const tokenizers = ['tokenizer', 'tokenizer_2']
    .filter((t) => existsSync(join(dir, t, 'vocab.json')))
    .map((t) => loadTokenizerDir(join(dir, t)));
  const prompt = (text: string) => {
    const [first, second] = tokenizers.map((t) => tokenizeWeighted(t, text).chunks);
    return second ? { chunks: first, chunks_2: second } : { chunks: first };
  };
  return {
    job_id: `bench-${id}-${Date.now()}`,
    model: id,
    prompt: prompt(PROMPT),
    negative_prompt: prompt(NEGATIVE),
    width: size,
    height: size,
    steps,
    guidance_scale: guidance,
    scheduler: 'euler',
    seeds: [1],
    timeout_ms: 3_600_000,
    return_embeddings: false,
  };
}

async function measure(name: string, dir: string, opts: ReturnType<typeof settings>): Promise<Row> {
  const size = openModelFolder(dir).nativeSize;
  const bare = bareCreate(dir, opts.threads);
  console.error(`[full-size] ${name}: bare create ${fmt(bare.totalMs)}`);

  const started = now();
  const worker = await startGpuWorker(
    { MODELS: `${name}=${dir}`, INTRA_OP_THREADS: String(opts.threads), JOB_TIMEOUT_MS: '3600000' },
    LOAD_TIMEOUT_MS,
  );
  let readyMs: number;
  let jobMs: number;
  let workerPeakRssMb: number;
  try {
    readyMs = now() - started;
    console.error(`[full-size] ${name}: gpu-worker ready in ${fmt(readyMs)}`);
    const jobStart = now();
    const body = jobFor(dir, name, size, opts.steps, opts.guidance);
    const response = await fetch(
      await signedJobRequest(`${worker.url}/v1/generate`, TEST_GPU_SECRET, body, {}, {}),
    );
    const { images } = await readGpuResponse(response);
    if (images.length !== 1) throw new Error(`${name}: expected one image, got ${images.length}`);
    jobMs = now() - jobStart;
    workerPeakRssMb = peakRssMb(worker.process.pid);
  } finally {
    await worker.stop();
  }
  console.error(`[full-size] ${name}: first image after ${fmt(readyMs + jobMs)}`);

  const model = await loadDiffusionModel(dir, { providers: ['cpu'], intraOpThreads: opts.threads });
  try {
    const req = request(model, {
      text: PROMPT,
      negative: NEGATIVE,
      width: size,
      height: size,
      steps: opts.steps,
      guidanceScale: opts.guidance,
    });
    const wallStart = now();
    const { result, runMs, runs } = await timeEveryRun(() => generate(model, req, new TextEncoderCache()));
    const totalMs = now() - wallStart;
    return {
      name,
      size,
      gib: folderBytes(dir) / 2 ** 30,
      bare,
      readyMs,
      jobMs,
      workerPeakRssMb,
      unetCalls: runs.unet,
      unetMs: runMs.unet,
      denoiseMs: result.timingsMs.denoise,
      totalMs,
      modelMs: runMs.text_encoder + runMs.unet + runMs.vae_decoder + runMs.vae_encoder,
    };
  } finally {
    await model.release();
  }
}

function familyRank(name: string): number {
  const i = ORDER.findIndex((f) => name.startsWith(f));
  return i < 0 ? ORDER.length : i;
}

export async function run(): Promise<void> {
  const root = resolve(process.env.FULL_MODELS_DIR ?? '/work/full-models');
  if (!existsSync(root)) {
    console.log(
      `full-size benchmark skipped: ${root} does not exist (set FULL_MODELS_DIR; build the models with ` +
        '`python3 -m infra.model.full_size --family sd15 --dtype fp32 --out <dir>/sd15-fp32`, see infra/model/README.md)',
    );
    return;
  }
  const wanted = process.env.BENCH_FULL?.split(',').filter(Boolean);
  const names = readdirSync(root)
    .filter((n) => !n.startsWith('.') && existsSync(join(root, n, 'model_index.json')))
    .filter((n) => !wanted || wanted.includes(n))
    .sort((a, b) => familyRank(a) - familyRank(b) || a.localeCompare(b));
  for (const name of wanted?.filter((n) => !names.includes(n)) ?? []) {
    console.log(`full-size benchmark: ${name} skipped, no model folder ${join(root, name)}`);
  }
  if (names.length === 0) {
    console.log(
      `full-size benchmark skipped: no model folders in ${root}${wanted ? ` among ${wanted}` : ''}`,
    );
    return;
  }
  const opts = settings();
  const loadBefore = formatLoad();
  const rows: Row[] = [];
  for (const name of names) rows.push(await measure(name, join(root, name), opts));

  const pct = (part: number, whole: number) => `${((100 * part) / whole).toFixed(2)} %`;
  const lines = [
    '## Full-size models through the gpu-worker',
    '',
    `Machine: ${machine()}. Load average (1/5/15 min): ${loadBefore} at start, ${formatLoad()} at end.`,
    `Request: "${PROMPT}", negative "${NEGATIVE}", ${opts.steps} steps euler, guidance ${opts.guidance}` +
      `${opts.guidance > 1 ? ' (CFG: UNet batch 2)' : ''}, seed 1, PNG, at each model's native size; ` +
      `${opts.threads} intra-op thread(s), CPU execution provider.`,
    '',
    '| model | size | files | bare create (fresh process) | gpu-worker ready (load + warm-up) | first job | folder → first image | gpu-worker peak RSS | UNet calls | ms per UNet call | pipeline outside session.run per UNet call | % of UNet time |',
    '|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...rows.map((r) => {
      const outside = (r.denoiseMs - r.unetMs) / r.unetCalls;
      return (
        `| ${r.name} | ${r.size}² | ${r.gib.toFixed(1)} GiB | ${fmt(r.bare.totalMs)} | ${fmt(r.readyMs)} | ` +
        `${fmt(r.jobMs)} | ${fmt(r.readyMs + r.jobMs)} | ${(r.workerPeakRssMb / 1024).toFixed(1)} GiB | ` +
        `${r.unetCalls} | ${(r.unetMs / r.unetCalls).toFixed(0)} | ${outside.toFixed(1)} ms | ` +
        `${pct(r.denoiseMs - r.unetMs, r.unetMs)} |`
      );
    }),
    '',
    'Whole generation in this process (text encoders, denoise, decode, PNG): pipeline time outside ' +
      `session.run ${rows.map((r) => `${r.name} ${pct(r.totalMs - r.modelMs, r.modelMs)}`).join(', ')} of model time.`,
    'Goal: per UNet call, pipeline time outside session.run ≤ 1 % of model time: ' +
      rows
        .map((r) => `${r.name} ${(r.denoiseMs - r.unetMs) / r.unetMs <= 0.01 ? 'met' : 'NOT met'}`)
        .join(', ') +
      '.',
  ];
  console.log(lines.join('\n'));
}
