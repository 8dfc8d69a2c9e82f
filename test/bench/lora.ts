// LoRA sessions (issue 15): what a LoRA set costs the gpu-worker. Per model, against the plain
// session loads of the same graphs in the same run:
//   1. plain: `createSession` of the UNet and text encoder(s) the set changes, from their files;
//   2. build: the set merged and its sessions created (`LoraVariants.acquire`, a cold cache):
//      reading the graphs, the merge, the session creation;
//   3. hit: the same set asked again (in any order), from the cache;
//   3b. pause: the longest the event loop was blocked during the build (other jobs' steps wait that long),
//       beside the same for the plain loads: onnxruntime-node creates a session synchronously, so a
//       plain load pauses the loop too, and the build's extra work should add no pause of its own;
//   4. memory: the process's resident set before and after building, and the patched bytes.
// Models: the bundled tiny-sd with the committed random kohya LoRA (every Linear and 3×3 conv,
// rank 4), and each full-size folder under FULL_MODELS_DIR named by BENCH_LORA_FULL (default
// sd15-fp32) with a LoRA drawn here the way kohya trains one by default: every attention
// projection of the UNet and the text encoder, rank 16, alpha 8. Skips a folder that is absent.
// `npm run bench -- lora`; BENCH_THREADS (intra-op threads, default 2).
import {
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { openLoraLibrary } from '../../gpu-worker/src/lora/lora-library.ts';
import { type LoraTargetGraph, readTargetGraph } from '../../gpu-worker/src/lora/lora-session.ts';
import { type LoraChoice, LoraVariants } from '../../gpu-worker/src/lora/lora-variants.ts';
import { readSafetensors } from '../../gpu-worker/src/lora/safetensors.ts';
import { loadDiffusionModel } from '../../gpu-worker/src/model/diffusion-model.ts';
import { createSession } from '../../gpu-worker/src/model/onnx-session.ts';
import { BUNDLED_MODEL } from '../../gpu-worker/test/support/models.ts';
import { safetensorsBytes, type TensorSpec } from '../../gpu-worker/test/support/safetensors-file.ts';
import { formatLoad, machine } from './support/machine.ts';
import { median } from './support/stats.ts';

const ROOT = resolve(import.meta.dirname, '../..');
const RANDOM_LORA = join(ROOT, 'gpu-worker/test/fixtures/loras/random-kohya.safetensors');
const threads = Number(process.env.BENCH_THREADS ?? 2);
const settings = { providers: ['cpu' as const], intraOpThreads: threads };

interface Row {
  name: string;
  lora: string;
  plainMs: number;
  buildMs: number;
  hitUs: number;
  pauseMs: number;
  plainPauseMs: number;
  rssGrowthMb: number;
  patchedMb: number;
}

const now = () => performance.now();
const rssMb = () => process.memoryUsage().rss / 2 ** 20;

/** A folder of symlinks to the model's parts, plus `loras/`: the model folder is not written to. */
function modelWithLora(dir: string, name: string, bytes: Uint8Array): string {
  const copy = join(mkdtempSync(join(tmpdir(), 'latent-edge-bench-lora-')), 'model');
  mkdirSync(join(copy, 'loras'), { recursive: true });
  for (const entry of readdirSync(dir)) {
    if (entry !== 'loras' && !entry.startsWith('.')) symlinkSync(resolve(dir, entry), join(copy, entry));
  }
  writeFileSync(join(copy, 'loras', `${name}.safetensors`), bytes);
  return copy;
}

/** Deterministic values in about ±scale (a sine table: no generator needed, the same every run). */
function values(count: number, scale: number, phase: number): Float32Array {
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) out[i] = Math.sin(i * 12.9898 + phase) * scale;
  return out;
}

/** kohya's default target: every attention projection (`to_q/k/v/out_0`, `q/k/v/out_proj`). */
function attentionLora(graphs: LoraTargetGraph[], rank: number, alpha: number): Uint8Array {
  const tensors: Record<string, TensorSpec> = {};
  const prefixes = { unet: 'lora_unet', text_encoder: 'lora_te', text_encoder_2: 'lora_te2' } as const;
  let phase = 0;
  for (const graph of graphs) {
    const prefix = prefixes[graph.component];
    for (const [module, target] of graph.weights) {
      if (!/(attn[12]_to_(q|k|v|out_0)|self_attn_(q|k|v|out)_proj)$/.test(module)) continue;
      const dims = graph.layout.initializers.get(target.initializer)?.dims ?? [];
      const [out, inner] = target.transposed ? [dims[1], dims[0]] : [dims[0], dims[1]];
      const key = `${prefix}_${module}`;
      tensors[`${key}.lora_down.weight`] = {
        shape: [rank, inner],
        values: values(rank * inner, 0.05, phase++),
      };
      tensors[`${key}.lora_up.weight`] = { shape: [out, rank], values: values(out * rank, 0.05, phase++) };
      tensors[`${key}.alpha`] = { shape: [], values: [alpha] };
    }
  }
  return safetensorsBytes(tensors, { ss_network_module: 'networks.lora', ss_network_dim: String(rank) });
}

async function measure(name: string, dir: string, loraName: string, bytes: Uint8Array, what: string) {
  const folder = modelWithLora(dir, loraName, bytes);
  try {
    const base = await loadDiffusionModel(folder, settings);
    const library = openLoraLibrary(base);
    const entry = library.entries.get(loraName);
    if (!entry) throw new Error(`${loraName} not in the library`);
    // The baseline: plain loads of exactly the graphs the set replaces, in this process.
    const plain: number[] = [];
    const plainLoop = monitorEventLoopDelay({ resolution: 5 });
    plainLoop.enable();
    for (let round = 0; round < 2; round++) {
      const started = now();
      for (const graph of library.graphs.values())
        await (await createSession(graph.path, settings)).session.release();
      plain.push(now() - started);
    }
    plainLoop.disable();
    global.gc?.();
    const before = rssMb();
    const variants = new LoraVariants(base, library, settings, Number.POSITIVE_INFINITY);
    const choice: LoraChoice[] = [{ entry, weight: 0.8 }];
    const loop = monitorEventLoopDelay({ resolution: 5 });
    loop.enable();
    const started = now();
    const lease = await variants.acquire(choice);
    const buildMs = now() - started;
    loop.disable();
    global.gc?.();
    const after = rssMb();
    const hits: number[] = [];
    for (let i = 0; i < 200; i++) {
      const t = now();
      (await variants.acquire(choice)).release();
      hits.push((now() - t) * 1000);
    }
    lease.release();
    const row: Row = {
      name,
      lora: what,
      plainMs: median(plain),
      buildMs,
      hitUs: median(hits),
      pauseMs: loop.max / 1e6,
      plainPauseMs: plainLoop.max / 1e6,
      rssGrowthMb: after - before,
      patchedMb: variants.cachedBytes / 2 ** 20,
    };
    await variants.release();
    await base.release();
    return row;
  } finally {
    rmSync(resolve(folder, '..'), { recursive: true, force: true });
  }
}

const fmtMs = (ms: number) => (ms >= 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${ms.toFixed(0)} ms`);

export async function run(): Promise<void> {
  const rows: Row[] = [];
  const layers = (bytes: Uint8Array) =>
    [...readSafetensors(bytes).tensors.keys()].filter((k) => k.endsWith('.lora_down.weight')).length;
  const random = new Uint8Array(readFileSync(RANDOM_LORA));
  rows.push(
    await measure(
      'tiny-sd',
      BUNDLED_MODEL,
      'random',
      random,
      `random kohya, ${layers(random)} layers, rank 4`,
    ),
  );
  const fullDir = process.env.FULL_MODELS_DIR ?? '/work/full-models';
  for (const folder of (process.env.BENCH_LORA_FULL ?? 'sd15-fp32').split(',').filter(Boolean)) {
    const dir = join(fullDir, folder);
    let graphs: LoraTargetGraph[];
    try {
      graphs = [
        readTargetGraph('unet', join(dir, 'unet/model.onnx')),
        readTargetGraph('text_encoder', join(dir, 'text_encoder/model.onnx')),
      ];
    } catch {
      console.log(`[lora] ${folder}: skipped, no model folder ${dir}`);
      continue;
    }
    const lora = attentionLora(graphs, 16, 8);
    const count = layers(lora);
    if (count === 0) {
      console.log(
        `[lora] ${folder}: skipped, its graphs have no weight_map.json (python -m infra.model.full_size --weight-maps)`,
      );
      continue;
    }
    rows.push(
      await measure(folder, dir, 'attention', lora, `attention projections, ${count} layers, rank 16`),
    );
  }
  console.log(`machine: ${machine()}; load ${formatLoad()}; intra-op threads ${threads}`);
  console.log(
    '| model | LoRA | plain session load (same graphs) | LoRA set build (cold) | cache hit | longest event-loop pause: plain load / build | RSS growth per set | counted against LORA_CACHE_MB |',
  );
  console.log('|---|---|---:|---:|---:|---:|---:|---:|');
  for (const r of rows) {
    console.log(
      `| ${r.name} | ${r.lora} | ${fmtMs(r.plainMs)} | ${fmtMs(r.buildMs)} (${(r.buildMs / r.plainMs).toFixed(1)}×) | ${r.hitUs.toFixed(1)} µs | ${fmtMs(r.plainPauseMs)} / ${fmtMs(r.pauseMs)} | ${r.rssGrowthMb.toFixed(0)} MB | ${r.patchedMb.toFixed(0)} MB |`,
    );
  }
}
