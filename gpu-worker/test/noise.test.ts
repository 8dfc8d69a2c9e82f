// Properties of the torch-compatible generator that need no reference folder, plus the pieces
// under it checked against published or glibc-computed values. Bit-for-bit parity with torch
// itself is in noise.reference.test.ts.
import { describe, expect, it } from 'vitest';
import { fmaf } from '../src/noise/avx-mathfun.ts';
import { fma } from '../src/noise/fma.ts';
import { glibcLog } from '../src/noise/glibc-log.ts';
import { glibcCos, glibcSin } from '../src/noise/glibc-sincos.ts';
import { MT19937 } from '../src/noise/mt19937.ts';
import { TorchGenerator } from '../src/noise/torch-generator.ts';

const LATENT = [1, 4, 8, 8];

describe('TorchGenerator', () => {
  it('gives identical output for the same seed', () => {
    expect(new TorchGenerator(42).randn(LATENT)).toEqual(new TorchGenerator(42).randn(LATENT));
  });

  it('carries state across calls, so two calls differ', () => {
    const generator = new TorchGenerator(42);
    expect(generator.randn(LATENT)).not.toEqual(generator.randn(LATENT));
  });

  it('restarts the stream on manualSeed', () => {
    const generator = new TorchGenerator(7);
    const first = generator.randn(LATENT);
    generator.randn([3]);
    generator.manualSeed(7);
    expect(generator.randn(LATENT)).toEqual(first);
  });

  it('returns the cached sine half on the next small call', () => {
    // torch.randn(1) twice uses one Box–Muller pair: the same two values as torch.randn(2).
    const generator = new TorchGenerator(3);
    const pair = new TorchGenerator(3).randn([2]);
    expect([generator.randn([1])[0], generator.randn([1])[0]]).toEqual([pair[0], pair[1]]);
  });

  it('keeps the cached normal across a vectorised call, which neither reads nor clears it', () => {
    const generator = new TorchGenerator(3);
    const pair = new TorchGenerator(3).randn([2]);
    generator.randn([1]);
    generator.randn([16]);
    expect(generator.randn([1])[0]).toBe(pair[1]);
  });

  it('drops the cached normal on manualSeed', () => {
    const generator = new TorchGenerator(3);
    generator.randn([1]);
    generator.manualSeed(3);
    expect(generator.randn([1])).toEqual(new TorchGenerator(3).randn([1]));
  });

  it('uses only the low 32 bits of the seed, so 2^53 gives the output of 0', () => {
    expect(new TorchGenerator(2 ** 53).randn(LATENT)).toEqual(new TorchGenerator(0).randn(LATENT));
    expect(new TorchGenerator(2 ** 32 + 5).randn([5])).toEqual(new TorchGenerator(5).randn([5]));
  });

  it('accepts bigint seeds up to 2^64 − 1 and wraps negative seeds mod 2^64', () => {
    expect(new TorchGenerator(42n).randn(LATENT)).toEqual(new TorchGenerator(42).randn(LATENT));
    const top = new TorchGenerator(2n ** 64n - 1n).randn([17]);
    expect(new TorchGenerator(-1).randn([17])).toEqual(top);
    expect(new TorchGenerator(-1n).randn([17])).toEqual(top);
    expect(new TorchGenerator(2 ** 32 - 1).randn([17])).toEqual(top);
  });

  it('rejects seeds torch would reject', () => {
    expect(() => new TorchGenerator(1.5)).toThrow(RangeError);
    expect(() => new TorchGenerator(Number.NaN)).toThrow(RangeError);
    expect(() => new TorchGenerator(2n ** 64n)).toThrow(RangeError);
    expect(() => new TorchGenerator(-(2n ** 63n) - 1n)).toThrow(RangeError);
  });

  it('sizes the output from the shape, rejecting bad dimensions', () => {
    const generator = new TorchGenerator(0);
    expect(generator.randn([2, 3, 5]).length).toBe(30);
    expect(generator.randn([]).length).toBe(1);
    expect(generator.randn([4, 0]).length).toBe(0);
    expect(generator.randnFloat64([17]).length).toBe(17);
    expect(() => generator.randn([-1])).toThrow(RangeError);
    expect(() => generator.randn([1.5])).toThrow(RangeError);
  });

  it('produces standard normal noise for a latent-sized draw', () => {
    const noise = new TorchGenerator(1234).randn([1, 4, 64, 64]);
    const mean = noise.reduce((sum, x) => sum + x, 0) / noise.length;
    const variance = noise.reduce((sum, x) => sum + (x - mean) ** 2, 0) / noise.length;
    // 16384 samples: the standard error of the mean is 0.008, of the variance about 0.011.
    expect(Math.abs(mean)).toBeLessThan(0.04);
    expect(Math.abs(variance - 1)).toBeLessThan(0.05);
  });
});

describe('MT19937', () => {
  it('matches std::mt19937 for seed 0 (SD-NOTES §4.6)', () => {
    const engine = new MT19937(0);
    expect([engine.nextUint32(), engine.nextUint32(), engine.nextUint32()]).toEqual([
      2357136044, 2546248239, 3071714933,
    ]);
  });

  it('gives 4123659995 as the 10000th output for seed 5489 (C++ standard, [rand.predef])', () => {
    const engine = new MT19937(5489);
    for (let i = 0; i < 9999; i++) engine.nextUint32();
    expect(engine.nextUint32()).toBe(4123659995);
  });

  it('matches torch.randint(0, 0xFFFFFFFF) for seed 137 (karpathy/llm.c llmc/rand.h)', () => {
    // randint takes one draw each, modulo the range.
    const engine = new MT19937(137);
    const draws = Array.from({ length: 5 }, () => engine.nextUint32() % 0xffffffff);
    expect(draws).toEqual([4053805790, 2173880614, 380293709, 1237255315, 2986595568]);
  });
});

describe('fused multiply-add emulation', () => {
  it('fmaf rounds once where Math.fround(a*b + c) would round twice', () => {
    // a·b = 1 + 2^-11 + 2^-24 sits halfway between two floats; c breaks the tie upwards.
    const a = 1 + 2 ** -12;
    const c = 2 ** -60;
    expect(fmaf(a, a, c)).toBe(1 + 2 ** -11 + 2 ** -23);
    expect(Math.fround(a * a + c)).toBe(1 + 2 ** -11);
  });

  it('fma rounds once where a*b + c would round twice', () => {
    // a·b = 1 + 2^-26 + 2^-27 + 2^-53 sits halfway between two doubles; c breaks the tie upwards.
    const a = 1 + 2 ** -26;
    const b = 1 + 2 ** -27;
    const c = 2 ** -80;
    expect(fma(a, b, c)).toBe(1 + 2 ** -26 + 2 ** -27 + 2 ** -52);
    expect(a * b + c).toBe(1 + 2 ** -26 + 2 ** -27);
  });
});

describe('glibc log, sin and cos', () => {
  // Expected values: Python's math.log/sin/cos, which call glibc 2.36 (Debian 2.36-9+deb12u14,
  // x86-64 with FMA: the __log_fma/__sin_fma/__cos_fma variants). V8's Math.* returns the
  // neighbouring double for each of these inputs. No tolerance: the bits must agree.
  it.each([
    [0.3944005653720567, -0.9303882227555546],
    [0.8483774018952063, -0.16442969279062222],
    [0.9815933682663363, -0.01857814165314726], // the |x − 1| < 1/16 branch
  ])('log(%s) is %s', (x, expected) => {
    expect(glibcLog(x)).toBe(expected);
  });

  it.each([
    [0.6514261694327753, 0.606321140268442], // table range
    [2.2049522907452976, 0.805572072854691], // near π/2
    [4.298931670901389, -0.9157372285902335], // reduced by multiples of π/2
  ])('sin(%s) is %s', (x, expected) => {
    expect(glibcSin(x)).toBe(expected);
  });

  it.each([
    [0.2584293139691152, 0.9667925787319734],
    [0.7338253751599273, 0.7426179297836127],
    [5.17425746499129, 0.44562159132634777],
  ])('cos(%s) is %s', (x, expected) => {
    expect(glibcCos(x)).toBe(expected);
  });
});
