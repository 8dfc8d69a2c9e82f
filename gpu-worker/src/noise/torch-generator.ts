// `torch.Generator('cpu').manual_seed(seed)` followed by `torch.randn(shape)`, bit for bit as
// PyTorch 1.13 computes it on x86-64 with its default AVX2 kernels (pytorch/pytorch
// aten/src/ATen/native/cpu/DistributionTemplates.h: `normal_kernel`, `normal_fill`,
// `normal_fill_AVX2`; aten/src/ATen/core/DistributionsHelper.h: `normal_distribution`;
// aten/src/ATen/core/TransformationHelper.h: `uniform_real`). Checked against
// /work/shared/reference/torch-randn; see SD-NOTES §4 for the derivation.
//
// The double-precision paths call glibc's log, sin and cos, which glibc-log.ts and
// glibc-sincos.ts reproduce bit for bit (V8's Math.log/sin/cos round differently now and then).
//
// mean = 0 and std = 1 throughout, so `n * std + mean` reduces to `n + 0`, which still matters:
// it turns −0 into +0.

import { log256, sincos256 } from './avx-mathfun.ts';
import { glibcLog } from './glibc-log.ts';
import { glibcCos, glibcSin } from './glibc-sincos.ts';
import { MT19937 } from './mt19937.ts';

/** float32(2π): the AVX2 kernel multiplies by it in float32. */
const TWO_PI_FLOAT = Math.fround(2 * Math.PI);
const TWO_PI = 2 * Math.PI;
const TWO_POW_32 = 2 ** 32;

export class TorchGenerator {
  private readonly engine: MT19937;
  /** `next_double_normal_sample`: the sine half of the last scalar Box–Muller pair. */
  private cachedNormal: number | null = null;
  private readonly sinCos = new Float64Array(2);

  constructor(seed: number | bigint) {
    this.engine = new MT19937(seed);
  }

  /** Like `Generator.manual_seed`: reseeds the engine and drops the cached normal. */
  manualSeed(seed: number | bigint): void {
    this.engine.seed(seed);
    this.cachedNormal = null;
  }

  /** `torch.randn(shape, generator=this)` in float32. */
  randn(shape: readonly number[]): Float32Array {
    const data = new Float32Array(numel(shape));
    // Below 16 elements `normal_kernel` falls back to the scalar double sampler.
    if (data.length < 16) {
      for (let i = 0; i < data.length; i++) data[i] = this.normalDouble();
    } else {
      this.normalFillFloat32(data);
    }
    return data;
  }

  /** `torch.randn(shape, dtype=torch.float64, generator=this)`. */
  randnFloat64(shape: readonly number[]): Float64Array {
    const data = new Float64Array(numel(shape));
    if (data.length < 16) {
      for (let i = 0; i < data.length; i++) data[i] = this.normalDouble();
    } else {
      this.normalFillFloat64(data);
    }
    return data;
  }

  /**
   * `normal_fill_AVX2`: uniforms for every element first, then Box–Muller on each block of 16,
   * pairing element j with j + 8. A ragged end gets 16 fresh uniforms in the last 16 slots,
   * overwriting normals already made there, and that block is transformed again.
   */
  private normalFillFloat32(data: Float32Array): void {
    const n = data.length;
    for (let i = 0; i < n; i++) data[i] = this.uniformFloat();
    for (let i = 0; i + 16 <= n; i += 16) this.normalFill16Float32(data, i);
    if (n % 16 !== 0) {
      for (let i = n - 16; i < n; i++) data[i] = this.uniformFloat();
      this.normalFill16Float32(data, n - 16);
    }
  }

  /** `normal_fill_16_AVX2`, one lane at a time. */
  private normalFill16Float32(data: Float32Array, start: number): void {
    const sinCos = this.sinCos;
    for (let j = start; j < start + 8; j++) {
      const u1 = Math.fround(1 - data[j]); // [0, 1) → (0, 1] so the log is finite
      const u2 = data[j + 8];
      const radius = Math.fround(Math.sqrt(-2 * log256(u1)));
      sincos256(Math.fround(TWO_PI_FLOAT * u2), sinCos);
      data[j] = Math.fround(radius * sinCos[1]) + 0;
      data[j + 8] = Math.fround(radius * sinCos[0]) + 0;
    }
  }

  /** `normal_fill<double>`: the same blocks in double with glibc's log, cos and sin. */
  private normalFillFloat64(data: Float64Array): void {
    const n = data.length;
    for (let i = 0; i < n; i++) data[i] = this.uniformDouble();
    for (let i = 0; i + 16 <= n; i += 16) normalFill16Float64(data, i);
    if (n % 16 !== 0) {
      for (let i = n - 16; i < n; i++) data[i] = this.uniformDouble();
      normalFill16Float64(data, n - 16);
    }
  }

  /**
   * `normal_distribution<double>`: returns the cached sine half if there is one, else draws
   * a fresh pair and caches its sine half. The cache outlives the `randn` call.
   */
  private normalDouble(): number {
    if (this.cachedNormal !== null) {
      const cached = this.cachedNormal;
      this.cachedNormal = null;
      return cached + 0;
    }
    const u1 = this.uniformDouble();
    const u2 = this.uniformDouble();
    const radius = Math.sqrt(-2 * glibcLog(1 - u2));
    const theta = TWO_PI * u1;
    this.cachedNormal = radius * glibcSin(theta);
    return radius * glibcCos(theta) + 0;
  }

  /** `uniform_real<float>`: the low 24 bits of one draw, times 2^-24 (exact). */
  private uniformFloat(): number {
    return (this.engine.nextUint32() & 0xffffff) * 2 ** -24;
  }

  /** `uniform_real<double>` on `random64()` (first draw high): the low 53 bits, times 2^-53. */
  private uniformDouble(): number {
    const high = this.engine.nextUint32();
    const low = this.engine.nextUint32();
    return ((high & 0x1fffff) * TWO_POW_32 + low) * 2 ** -53;
  }
}

function normalFill16Float64(data: Float64Array, start: number): void {
  for (let j = start; j < start + 8; j++) {
    const u1 = 1 - data[j];
    const u2 = data[j + 8];
    const radius = Math.sqrt(-2 * glibcLog(u1));
    const theta = TWO_PI * u2;
    data[j] = radius * glibcCos(theta) + 0;
    data[j + 8] = radius * glibcSin(theta) + 0;
  }
}

function numel(shape: readonly number[]): number {
  let n = 1;
  for (const size of shape) {
    if (!Number.isSafeInteger(size) || size < 0) {
      throw new RangeError(`shape entries must be non-negative integers, got [${shape.join(', ')}]`);
    }
    n *= size;
  }
  return n;
}
