// float32 log and sincos exactly as PyTorch's AVX2 randn kernel computes them: the Cephes
// polynomials of pytorch/pytorch aten/src/ATen/native/cpu/avx_mathfun.h (`log256_ps`,
// `sincos256_ps`, after Julien Pommier's sse_mathfun), one lane at a time.
//
// Every float32 operation is a double operation rounded with Math.fround. That is exact for a
// single +, −, × or sqrt of float32 operands (53 ≥ 2·24 + 2, so rounding twice is harmless).
// GCC compiles these intrinsics as plain vector arithmetic and contracts a multiply feeding an
// add into one FMA; the placements below are the ones that reproduce the Linux x86-64 wheels
// (checked against /work/shared/reference/torch-randn). Products that are exact in float32
// (by 0.5, or by Cephes' short split constants) round the same fused or not.

const f32 = new Float32Array(1);
const bits32 = new Uint32Array(f32.buffer);

/**
 * fmaf(a, b, c) = a·b + c rounded once to float32, for float32 a, b, c. a·b is exact in a
 * double, so s = a·b + c is rounded once to a double; rounding s again to a float can only go
 * wrong when s lands exactly halfway between two floats (2s − fround(s) is then the other one)
 * after being rounded itself, and then the exact remainder (Knuth's TwoSum) says which way.
 */
export function fmaf(a: number, b: number, c: number): number {
  const s = a * b + c;
  const rounded = Math.fround(s);
  const other = 2 * s - rounded;
  if (rounded === s || Math.fround(other) !== other) return rounded;
  const p = a * b;
  const v = s - p;
  const err = p - (s - v) + (c - v);
  if (err === 0) return rounded;
  return err > 0 === other > rounded ? other : rounded;
}

const SQRTHF = Math.fround(Math.SQRT1_2); // upstream writes 0.707106781186547524
const LOG_P0 = Math.fround(7.0376836292e-2);
const LOG_P1 = Math.fround(-1.151461031e-1);
const LOG_P2 = Math.fround(1.167699874e-1);
const LOG_P3 = Math.fround(-1.2420140846e-1);
const LOG_P4 = Math.fround(1.4249322787e-1);
const LOG_P5 = Math.fround(-1.6668057665e-1);
const LOG_P6 = Math.fround(2.0000714765e-1);
const LOG_P7 = Math.fround(-2.4999993993e-1);
const LOG_P8 = Math.fround(3.3333331174e-1);
const LOG_Q1 = Math.fround(-2.1219444e-4);
const LOG_Q2 = Math.fround(0.693359375);
/** The smallest normal float32, 0x00800000: `log256_ps` clamps denormals up to it. */
const MIN_NORM_POS = 2 ** -126;

/** `log256_ps` for one lane: natural log of a float32; NaN for x ≤ 0. */
export function log256(input: number): number {
  if (!(input > 0)) return Number.NaN;
  f32[0] = Math.max(input, MIN_NORM_POS);
  const bits = bits32[0];
  // Split x = m·2^e with m in [0.5, 1): keep the mantissa, force the exponent of 0.5.
  let e = (bits >>> 23) - 0x7f + 1;
  bits32[0] = (bits & ~0x7f800000) | 0x3f000000;
  let x = f32[0];
  // Cephes: if m < √½ use 2m − 1 and e − 1, else m − 1, so x lies in [√½ − 1, √2 − 1).
  if (x < SQRTHF) {
    e -= 1;
    x = Math.fround(Math.fround(x - 1) + x);
  } else {
    x = Math.fround(x - 1);
  }
  const z = Math.fround(x * x);
  // Horner steps `y = y*x; y = y + p` are each one FMA.
  let y = fmaf(LOG_P0, x, LOG_P1);
  y = fmaf(y, x, LOG_P2);
  y = fmaf(y, x, LOG_P3);
  y = fmaf(y, x, LOG_P4);
  y = fmaf(y, x, LOG_P5);
  y = fmaf(y, x, LOG_P6);
  y = fmaf(y, x, LOG_P7);
  y = fmaf(y, x, LOG_P8);
  y = Math.fround(y * x);
  // `y*z + e*q1`: GCC fuses y*z and rounds e*q1 on its own.
  y = fmaf(y, z, Math.fround(e * LOG_Q1));
  y = Math.fround(y - z * 0.5);
  x = Math.fround(x + y);
  // e·q2 is exact (q2 has 9 significant bits), so fusing it changes nothing.
  return Math.fround(x + e * LOG_Q2);
}

const FOPI = Math.fround(1.27323954473516); // 4/π
const MINUS_DP1 = Math.fround(-0.78515625);
const MINUS_DP2 = Math.fround(-2.4187564849853516e-4); // upstream: -2.4187564849853515625e-4
const MINUS_DP3 = Math.fround(-3.774894977445941e-8); // upstream: -3.77489497744594108e-8
const SINCOF_P0 = Math.fround(-1.9515295891e-4);
const SINCOF_P1 = Math.fround(8.3321608736e-3);
const SINCOF_P2 = Math.fround(-1.6666654611e-1);
const COSCOF_P0 = Math.fround(2.443315711809948e-5);
const COSCOF_P1 = Math.fround(-1.388731625493765e-3);
const COSCOF_P2 = Math.fround(4.166664568298827e-2);

/**
 * `sincos256_ps` for one lane: writes sin(x) to out[0] and cos(x) to out[1] (float32 values).
 * Accurate for |x| < 8192, like the original; randn only passes θ in [0, 2π).
 */
export function sincos256(input: number, out: Float64Array): void {
  const negative = input < 0;
  let x = Math.abs(input);
  // j = the octant index rounded up to even (cvttps truncates; y is non-negative).
  const j = (Math.trunc(Math.fround(x * FOPI)) + 1) & ~1;
  const sinNegative = negative !== ((j & 4) !== 0);
  const cosNegative = ((j - 2) & 4) === 0;
  const useSinPoly = (j & 2) === 0;
  // "Extended precision modular arithmetic": x − j·π/4 with π/4 split in three; each
  // `x = x + y*DPn` is one FMA.
  x = fmaf(j, MINUS_DP1, x);
  x = fmaf(j, MINUS_DP2, x);
  x = fmaf(j, MINUS_DP3, x);
  const z = Math.fround(x * x);
  // cos polynomial on [0, π/4]: the second y*z is fused with `- z*0.5` (z*0.5 itself is exact).
  let c = fmaf(COSCOF_P0, z, COSCOF_P1);
  c = fmaf(c, z, COSCOF_P2);
  c = Math.fround(c * z);
  c = fmaf(c, z, -(z * 0.5));
  c = Math.fround(c + 1);
  // sin polynomial on [0, π/4]: `y2*x + x` is one FMA.
  let s = fmaf(SINCOF_P0, z, SINCOF_P1);
  s = fmaf(s, z, SINCOF_P2);
  s = Math.fround(s * z);
  s = fmaf(s, x, x);
  if (!useSinPoly) {
    const t = s;
    s = c;
    c = t;
  }
  out[0] = sinNegative ? -s : s;
  out[1] = cosNegative ? -c : c;
}
