// The training noise schedule every scheduler starts from: betas, then ᾱ = cumprod(1 − β)
// (huggingface/diffusers@58eb52c0 src/diffusers/schedulers/scheduling_ddim.py `__init__`,
// `betas_for_alpha_bar`, `rescale_zero_terminal_snr`). Float details follow PyTorch on the CPU:
// betas are float32 tensors, and `torch.cumprod` accumulates in double and stores float32
// (aten/src/ATen/native/cpu/ReduceOpsKernel.cpp, `acc_type<float>` = double).

import { f32, sqrtf } from './float32.ts';
import { linspaceFloat32 } from './torch-linspace.ts';

export type BetaSchedule = 'linear' | 'scaled_linear' | 'squaredcos_cap_v2';

export interface BetaConfig {
  numTrainTimesteps: number;
  betaStart: number;
  betaEnd: number;
  betaSchedule: BetaSchedule;
  trainedBetas: readonly number[] | null;
  rescaleBetasZeroSnr: boolean;
}

export function makeBetas(config: BetaConfig): Float32Array {
  const { numTrainTimesteps: count, betaStart, betaEnd } = config;
  let betas: Float32Array;
  if (config.trainedBetas) {
    betas = Float32Array.from(config.trainedBetas);
  } else if (config.betaSchedule === 'linear') {
    betas = linspaceFloat32(betaStart, betaEnd, count);
  } else if (config.betaSchedule === 'scaled_linear') {
    // "very specific to the latent diffusion model": linspace of √β, squared in float32.
    betas = linspaceFloat32(Math.sqrt(betaStart), Math.sqrt(betaEnd), count).map((x) => f32(x * x));
  } else {
    betas = cosineBetas(count);
  }
  return config.rescaleBetasZeroSnr ? rescaleZeroTerminalSnr(betas) : betas;
}

/** ᾱ_t = ∏_{s≤t} (1 − β_s): float32 alphas, a double running product, float32 results. */
export function makeAlphasCumprod(betas: Float32Array): Float32Array {
  const alphasCumprod = new Float32Array(betas.length);
  let product = 1;
  for (let t = 0; t < betas.length; t++) {
    product *= f32(1 - betas[t]);
    alphasCumprod[t] = product;
  }
  return alphasCumprod;
}

/**
 * `betas_for_alpha_bar` with the "cosine" transform (Nichol & Dhariwal 2021, Eq. 17), computed
 * in double as Python does and stored as float32.
 */
function cosineBetas(count: number, maxBeta = 0.999): Float32Array {
  const alphaBar = (t: number) => Math.cos(((t + 0.008) / 1.008) * (Math.PI / 2)) ** 2;
  const betas = new Float32Array(count);
  for (let i = 0; i < count; i++) {
    betas[i] = Math.min(1 - alphaBar((i + 1) / count) / alphaBar(i / count), maxBeta);
  }
  return betas;
}

/**
 * Shifts and scales √ᾱ so the last timestep has zero SNR (Lin et al. 2023, "Common Diffusion
 * Noise Schedules and Sample Steps are Flawed", Algorithm 1), in float32 tensor arithmetic.
 */
function rescaleZeroTerminalSnr(betas: Float32Array): Float32Array {
  const sqrtAlphasCumprod = makeAlphasCumprod(betas).map(sqrtf);
  const first = sqrtAlphasCumprod[0];
  const last = sqrtAlphasCumprod[sqrtAlphasCumprod.length - 1];
  const scale = f32(first / f32(first - last));
  const alphasCumprod = sqrtAlphasCumprod.map((x) => {
    const shifted = f32(f32(x - last) * scale);
    return f32(shifted * shifted);
  });
  return alphasCumprod.map((a, t) => f32(1 - (t === 0 ? a : f32(a / alphasCumprod[t - 1]))));
}
