// torch.linspace(start, end, steps, dtype=torch.float32) on the x86-64 CPU, bit for bit as
// PyTorch 1.13 computes it with its default AVX2 kernels (pytorch/pytorch
// aten/src/ATen/native/cpu/RangeFactoriesKernel.cpp `linspace_kernel`, vectorised by
// aten/src/ATen/native/cpu/Loops.h `vectorized_loop`; verified against the reference data, see
// /work/shared/reference/README.md "schedulers/"). diffusers builds every beta schedule with it.
//
// * step = (end − start) / (steps − 1) in float32.
// * The first ⌊steps/16⌋·16 elements come in blocks of 8 (`Vectorized<float>::arange(base, step)`),
//   base = start + step·i below the halfway index and end − step·(steps − 1 − i) above it;
//   element j of a block is base + j·step. The rest use the per-element formula.
// * GCC contracts every a + b·c above into one fused multiply-add on AVX2 builds.

import { f32, fmaf } from './float32.ts';

const BLOCK = 8;

export function linspaceFloat32(start: number, end: number, steps: number): Float32Array {
  const out = new Float32Array(steps);
  const first = f32(start);
  const last = f32(end);
  if (steps === 1) {
    out[0] = first;
    return out;
  }
  const step = f32(f32(last - first) / (steps - 1));
  const halfway = Math.floor(steps / 2);
  const element = (i: number) => (i < halfway ? fmaf(step, i, first) : fmaf(-step, steps - i - 1, last));

  const vectorised = Math.floor(steps / (2 * BLOCK)) * 2 * BLOCK;
  for (let i = 0; i < vectorised; i += BLOCK) {
    const base = element(i);
    for (let j = 0; j < BLOCK; j++) out[i + j] = fmaf(j, step, base);
  }
  for (let i = vectorised; i < steps; i++) out[i] = element(i);
  return out;
}
