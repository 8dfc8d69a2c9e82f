// Parity with huggingface/diffusers@58eb52c0 schedulers run by PyTorch 1.13.1 on x86-64 (the
// `avx2` variant of /work/shared/reference/schedulers; see its README for the fake model and the
// loop reproduced below). Every case file index.json lists is checked.
//
// Tolerances (source: the acceptance criteria for the scheduler port):
// * timesteps: exact;
// * sigmas, init_noise_sigma and the final latents: max |ours − diffusers| ≤ 1e-5, and that error
//   is also ≤ 1e-5 of the largest |value| of the reference tensor.
// Per-step `latents_sum` / `latents_first4` only locate the first diverging step on failure.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { referenceDir, reportCases } from '../../test/reference.ts';
import { TorchGenerator } from '../src/noise/torch-generator.ts';
import { makeAlphasCumprod, makeBetas } from '../src/schedulers/noise-schedule.ts';
import { createScheduler } from '../src/schedulers/registry.ts';
import type { Scheduler } from '../src/schedulers/scheduler.ts';
import { SchedulerConfig } from '../src/schedulers/scheduler-config.ts';

const VARIANT = 'avx2';
const TOLERANCE = 1e-5;
/** The stochastic cases share one generator seeded so (index.json `step_generator_seed`). */
const STEP_SEED_FALLBACK = 123;

interface CaseEntry {
  file: string;
  case: string;
  config_name: string;
  num_inference_steps: number;
  n_model_evals: number;
  stochastic: boolean;
}
interface SchedulersIndex {
  configs: Record<string, unknown>;
  cases: CaseEntry[];
  step_generator_seed?: number;
}
interface StepRecord {
  i: number;
  t: number;
  model_offset: number;
  latents_sum: number;
  latents_first4: number[];
}
interface VariantData {
  timesteps: number[];
  sigmas: number[] | null;
  init_noise_sigma: number;
  initial_noise: number[];
  final_latents: number[];
  steps: StepRecord[];
}
interface CaseFile {
  step_kwargs: { eta?: number };
  variants: Record<string, VariantData>;
}

const dir = referenceDir('schedulers');
const index: SchedulersIndex = dir
  ? JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8'))
  : { configs: {}, cases: [] };
const families = [...new Set(index.cases.map((c) => c.case))];

/** Largest absolute difference, and the largest reference magnitude it is judged against. */
function maxError(actual: ArrayLike<number>, expected: ArrayLike<number>): { abs: number; scale: number } {
  let abs = 0;
  let scale = 0;
  for (let i = 0; i < expected.length; i++) {
    abs = Math.max(abs, Math.abs(actual[i] - expected[i]));
    scale = Math.max(scale, Math.abs(expected[i]));
  }
  return { abs, scale };
}

const withinTolerance = ({ abs, scale }: { abs: number; scale: number }) =>
  abs <= TOLERANCE && abs <= TOLERANCE * scale;

/** The reference loop with the fake model: output = f32(f32(input·f32(0.9)) − f32(0.05·t/1000)). */
function runLoop(
  scheduler: Scheduler,
  data: VariantData,
  generator: TorchGenerator,
  record: (i: number, x: Float32Array) => void,
) {
  const noise = Float32Array.from(data.initial_noise);
  let latents: Float32Array = noise.map((x) => x * scheduler.initNoiseSigma);
  const gain = Math.fround(0.9);
  for (let i = scheduler.beginIndex; i < scheduler.timesteps.length; i++) {
    const t = scheduler.timesteps[i];
    const input = scheduler.scaleModelInput(latents, i);
    const offset = Math.fround((0.05 * t) / 1000);
    const output = input.map((x) => Math.fround(x * gain) - offset);
    latents = scheduler.step(output, i, latents, generator).prevSample;
    record(i, latents);
  }
  return latents;
}

/** Names the first evaluation whose latents leave the tolerance, from the per-step records. */
function firstDivergence(steps: StepRecord[], trajectory: Float32Array[]): string {
  for (const step of steps) {
    const ours = trajectory[step.i];
    if (!ours) return `step ${step.i} (t=${step.t}) was never run`;
    const head = maxError(ours.subarray(0, 4), step.latents_first4);
    const sum = ours.reduce((a, b) => a + b, 0);
    if (head.abs > TOLERANCE || Math.abs(sum - step.latents_sum) > TOLERANCE * ours.length) {
      return `first diverges at step ${step.i} (t=${step.t}): first4 [${[...ours.subarray(0, 4)]}] vs [${step.latents_first4}], sum ${sum} vs ${step.latents_sum}`;
    }
  }
  return 'every recorded step agrees; only the final latents differ';
}

describe.skipIf(dir === null)(`diffusers scheduler parity (${VARIANT})`, () => {
  const passed = new Map<string, number>();
  const worst = { abs: 0, absWhere: 'none', relative: 0, relativeWhere: 'none' };
  afterAll(() => {
    for (const family of families) {
      const total = index.cases.filter((c) => c.case === family).length;
      reportCases(`schedulers/${family}`, passed.get(family) ?? 0, total);
    }
    const allPassed = [...passed.values()].reduce((a, b) => a + b, 0);
    reportCases('schedulers', allPassed, index.cases.length);
    console.log(
      `[reference] schedulers: worst final-latents error ${worst.abs.toExponential(2)} absolute ` +
        `(${worst.absWhere}), ${worst.relative.toExponential(2)} relative to the largest value ` +
        `(${worst.relativeWhere}); tolerance ${TOLERANCE}`,
    );
  });

  it('index.json lists every case file in the folders', () => {
    const onDisk = Object.keys(index.configs).flatMap((config) =>
      readdirSync(join(dir as string, config)).map((file) => `${config}/${file}`),
    );
    expect(index.cases.map((c) => c.file).sort()).toEqual(onDisk.sort());
    expect(index.cases.length).toBeGreaterThan(0);
  });

  it('builds betas and alphas_cumprod of train_schedule.json bit for bit', () => {
    const schedule = JSON.parse(readFileSync(join(dir as string, 'train_schedule.json'), 'utf8'));
    const expected: { betas: number[]; alphas_cumprod: number[] } = schedule.variants[VARIANT];
    // Its description: torch.linspace(0.00085**0.5, 0.012**0.5, 1000, dtype=float32)**2.
    const betas = makeBetas({
      numTrainTimesteps: 1000,
      betaStart: 0.00085,
      betaEnd: 0.012,
      betaSchedule: 'scaled_linear',
      trainedBetas: null,
      rescaleBetasZeroSnr: false,
    });
    expect([...betas]).toEqual(expected.betas);
    expect([...makeAlphasCumprod(betas)]).toEqual(expected.alphas_cumprod);
  });

  for (const entry of index.cases) {
    it(`matches ${entry.file}`, () => {
      const file: CaseFile = JSON.parse(readFileSync(join(dir as string, entry.file), 'utf8'));
      const data = file.variants[VARIANT];
      const config = SchedulerConfig.parse(index.configs[entry.config_name]);
      const scheduler = createScheduler(entry.case, config, entry.num_inference_steps, {
        eta: file.step_kwargs.eta,
      });

      expect([...scheduler.timesteps], 'timesteps').toEqual(data.timesteps);
      expect(scheduler.timesteps.length, 'model evaluations').toBe(entry.n_model_evals);
      expect(Boolean(scheduler.sigmas), 'has sigmas').toBe(data.sigmas !== null);
      if (scheduler.sigmas && data.sigmas) {
        const sigmaError = maxError(scheduler.sigmas, data.sigmas);
        expect(scheduler.sigmas.length, 'sigmas length').toBe(data.sigmas.length);
        expect(withinTolerance(sigmaError), `sigmas off by ${sigmaError.abs}`).toBe(true);
      }
      const initError = maxError([scheduler.initNoiseSigma], [data.init_noise_sigma]);
      expect(withinTolerance(initError), `init_noise_sigma ${scheduler.initNoiseSigma}`).toBe(true);

      const generator = new TorchGenerator(index.step_generator_seed ?? STEP_SEED_FALLBACK);
      const trajectory: Float32Array[] = [];
      const final = runLoop(scheduler, data, generator, (i, x) => {
        trajectory[i] = x;
      });
      const error = maxError(final, data.final_latents);
      const relative = error.abs / error.scale;
      if (error.abs > worst.abs) Object.assign(worst, { abs: error.abs, absWhere: entry.file });
      if (relative > worst.relative) Object.assign(worst, { relative, relativeWhere: entry.file });
      const verdict = withinTolerance(error)
        ? 'within tolerance'
        : `final latents off by ${error.abs} (${relative} relative); ${firstDivergence(data.steps, trajectory)}`;
      expect(verdict, entry.file).toBe('within tolerance');
      passed.set(entry.case, (passed.get(entry.case) ?? 0) + 1);
    });
  }
});
