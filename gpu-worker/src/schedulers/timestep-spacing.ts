// The inference timestep grids of `set_timesteps` (huggingface/diffusers@58eb52c0
// src/diffusers/schedulers/scheduling_ddim.py and scheduling_euler_discrete.py; "Common Diffusion
// Noise Schedules and Sample Steps are Flawed", Lin et al. 2023, Table 2). The NumPy pieces are
// reproduced operation for operation, because `.round()` of an exact .5 must land the same way.

export type TimestepSpacing = 'leading' | 'trailing' | 'linspace';

export interface SpacingOptions {
  /** Round linspace points to integers (DDIM/PNDM/DPM) or keep them as float32 (Euler/Heun). */
  integer: boolean;
}

/**
 * N timesteps, descending, from T training steps:
 * * leading: ⌊T/N⌋·[N−1, …, 1, 0] + steps_offset (the only spacing that applies the offset);
 * * trailing: round(arange(T, 0, −T/N)) − 1;
 * * linspace: linspace(0, T − 1, N), reversed.
 */
export function spaceTimesteps(
  spacing: TimestepSpacing,
  numTrainTimesteps: number,
  steps: number,
  stepsOffset: number,
  { integer }: SpacingOptions,
): Float64Array {
  if (spacing === 'leading') {
    const ratio = Math.floor(numTrainTimesteps / steps);
    return Float64Array.from({ length: steps }, (_, i) => (steps - 1 - i) * ratio + stepsOffset);
  }
  if (spacing === 'trailing') {
    return arangeFloat(numTrainTimesteps, 0, -numTrainTimesteps / steps).map((t) => roundHalfEven(t) - 1);
  }
  const points = linspace(0, numTrainTimesteps - 1, steps).reverse();
  return points.map((t) => (integer ? roundHalfEven(t) : Math.fround(t)));
}

/** `np.linspace(start, stop, num)`: start + i·step with step = (stop − start)/(num − 1), last = stop. */
export function linspace(start: number, stop: number, num: number, endpoint = true): Float64Array {
  const step = (stop - start) / (endpoint ? num - 1 : num);
  const out = Float64Array.from({ length: num }, (_, i) => (num === 1 ? start : i * step + start));
  if (endpoint && num > 1) out[num - 1] = stop;
  return out;
}

/** `np.arange(start, stop, step)` for doubles: length ⌈(stop − start)/step⌉, start + i·Δ (`DOUBLE_fill`). */
function arangeFloat(start: number, stop: number, step: number): Float64Array {
  const length = Math.max(Math.ceil((stop - start) / step), 0);
  const delta = start + step - start;
  return Float64Array.from({ length }, (_, i) => start + i * delta);
}

/** NumPy's `round`: halves go to the even neighbour (999.5 → 1000, 62.5 → 62). */
export function roundHalfEven(x: number): number {
  const floor = Math.floor(x);
  const diff = x - floor;
  if (diff !== 0.5) return Math.round(x);
  return floor % 2 === 0 ? floor : floor + 1;
}
