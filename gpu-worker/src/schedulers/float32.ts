// Float32 arithmetic as PyTorch performs it on float32 tensors. diffusers computes its per-step
// coefficients (σ², √ᾱ, λ = log α − log σ, …) on 0-d float32 tensors and its updates as one
// rounded float32 operation per Python operator; writing f32(…) around each operation, in the
// order Python evaluates them, reproduces its results bit for bit or within an ulp. Math.fround
// after a double operation on float32 inputs is the correctly rounded float32 result for +, −,
// ×, ÷ and √ (53 ≥ 2·24 + 2).

export const f32 = Math.fround;

export const sqrtf = (x: number): number => Math.fround(Math.sqrt(x));

/** Within 1 ulp of torch's float32 log (SLEEF on AVX2, glibc logf otherwise). */
export const logf = (x: number): number => Math.fround(Math.log(x));

/** Within 1 ulp of torch's float32 exp (SLEEF on AVX2, glibc expf otherwise). */
export const expf = (x: number): number => Math.fround(Math.exp(x));

/**
 * C's fmaf(a, b, c) for float32 inputs: a·b + c rounded once. The product of two float32 is
 * exact in a double; the double sum can round onto a float32 tie, which the exact remainder of
 * the addition (Knuth's TwoSum) then breaks in the right direction.
 */
export function fmaf(a: number, b: number, c: number): number {
  const product = a * b;
  const sum = product + c;
  const virtualC = sum - product;
  const remainder = product - (sum - virtualC) + (c - virtualC);
  const rounded = Math.fround(sum);
  if (remainder === 0 || rounded === sum) return rounded;
  const otherNeighbour = 2 * sum - rounded;
  const isTie = otherNeighbour !== rounded && Math.fround(otherNeighbour) === otherNeighbour;
  if (!isTie) return rounded;
  return Math.fround(sum + Math.sign(remainder) * Math.abs(sum) * 2 ** -40);
}
