// k-diffusion noise levels σ_t = √((1 − ᾱ_t)/ᾱ_t) and the ways diffusers picks N of them
// (huggingface/diffusers@58eb52c0 src/diffusers/schedulers/scheduling_euler_discrete.py
// `set_timesteps`, `_convert_to_karras`, `_sigma_to_t`; scheduling_dpmsolver_multistep.py).

import { f32, logf, sqrtf } from './float32.ts';
import { linspace } from './timestep-spacing.ts';

/** σ for every training timestep, ascending in t; float32 tensor arithmetic as in diffusers. */
export function sigmaTable(alphasCumprod: Float32Array): Float32Array {
  return alphasCumprod.map((a) => sqrtf(f32(f32(1 - a) / a)));
}

/**
 * `np.interp(timesteps, arange(len(table)), table)`: linear interpolation between the integer
 * timesteps, in double (numpy/core/src/multiarray/compiled_base.c `arr_interp`).
 */
export function interpolateSigmas(timesteps: Float64Array, table: Float32Array): Float64Array {
  const last = table.length - 1;
  return timesteps.map((t) => {
    if (t <= 0) return table[0];
    if (t >= last) return table[last];
    const j = Math.floor(t);
    if (j === t) return table[j];
    return (table[j + 1] - table[j]) * (t - j) + table[j];
  });
}

/**
 * Karras et al. 2022, "Elucidating the Design Space of Diffusion-Based Generative Models", Eq. 5:
 * σ_i = (σ_max^{1/ρ} + i/(N−1)·(σ_min^{1/ρ} − σ_max^{1/ρ}))^ρ with ρ = 7, in double.
 */
export function karrasSigmas(sigmaMin: number, sigmaMax: number, steps: number): Float64Array {
  const rho = 7;
  const minInvRho = sigmaMin ** (1 / rho);
  const maxInvRho = sigmaMax ** (1 / rho);
  return linspace(0, 1, steps).map((ramp) => (maxInvRho + ramp * (minInvRho - maxInvRho)) ** rho);
}

/** Natural logs of the σ table as NumPy computes them on a float32 array. */
export function logSigmaTable(table: Float32Array): Float32Array {
  return table.map(logf);
}

/**
 * `_sigma_to_t`: the (fractional) timestep whose σ is `sigma`, interpolating linearly in log σ
 * between the two bracketing training timesteps, clipped to the table.
 */
export function sigmaToTimestep(sigma: number, logSigmas: Float32Array): number {
  const logSigma = Math.log(Math.max(sigma, 1e-10));
  let low = 0;
  for (let i = 0; i < logSigmas.length; i++) if (logSigma - logSigmas[i] >= 0) low = i;
  low = Math.min(low, logSigmas.length - 2);
  const lowLog = logSigmas[low];
  const highLog = logSigmas[low + 1];
  const w = Math.min(Math.max((lowLog - logSigma) / (lowLog - highLog), 0), 1);
  return (1 - w) * low + w * (low + 1);
}
