// The 32-bit Mersenne Twister exactly as PyTorch's CPU generator runs it
// (pytorch/pytorch aten/src/ATen/core/MT19937RNGEngine.h): the reference `init_genrand`
// seeding and the standard twist and tempering, so the stream equals std::mt19937 and
// numpy's legacy RandomState for the same 32-bit seed.

const N = 624;
const M = 397;
const MATRIX_A = 0x9908b0df;
const UPPER_MASK = 0x80000000;
const LOWER_MASK = 0x7fffffff;

const TWO_POW_32 = 2 ** 32;
const MIN_SEED = -(2n ** 63n);
const MAX_SEED = 2n ** 64n - 1n;

/**
 * The 32 bits of a torch seed the engine uses. torch accepts seeds in [-2^63, 2^64 - 1] and
 * wraps negatives mod 2^64 (CPUGeneratorImpl.cpp `set_current_seed`), but `init_with_uint32`
 * keeps only `seed & 0xffffffff`; since 2^32 divides 2^64 that is simply `seed mod 2^32`.
 */
export function seedToUint32(seed: number | bigint): number {
  if (typeof seed === 'bigint') {
    if (seed < MIN_SEED || seed > MAX_SEED) {
      throw new RangeError(`seed must be in [-2^63, 2^64 - 1], got ${seed}`);
    }
    return Number(BigInt.asUintN(32, seed));
  }
  if (!Number.isInteger(seed) || seed < -(2 ** 63) || seed >= 2 ** 64) {
    throw new RangeError(`seed must be an integer in [-2^63, 2^64 - 1], got ${seed}`);
  }
  // `%` on doubles is exact, so this is right even for seeds beyond 2^53.
  const low = seed % TWO_POW_32;
  return low < 0 ? low + TWO_POW_32 : low;
}

export class MT19937 {
  private readonly state = new Uint32Array(N);
  private left = 1;
  private next = 0;

  constructor(seed: number | bigint) {
    this.seed(seed);
  }

  /** `init_with_uint32`: the reference init_genrand; the first draw then regenerates the state. */
  seed(seed: number | bigint): void {
    const state = this.state;
    state[0] = seedToUint32(seed);
    for (let j = 1; j < N; j++) {
      const prev = state[j - 1];
      state[j] = Math.imul(1812433253, prev ^ (prev >>> 30)) + j;
    }
    this.left = 1;
    this.next = 0;
  }

  /** One tempered 32-bit output (`operator()`), as an unsigned number. */
  nextUint32(): number {
    if (--this.left === 0) this.twist();
    let y = this.state[this.next++];
    y ^= y >>> 11;
    y ^= (y << 7) & 0x9d2c5680;
    y ^= (y << 15) & 0xefc60000;
    y ^= y >>> 18;
    return y >>> 0;
  }

  /** `next_state`: regenerates all 624 words in place, in upstream's order. */
  private twist(): void {
    const s = this.state;
    this.left = N;
    this.next = 0;
    let i = 0;
    for (; i < N - M; i++) s[i] = s[i + M] ^ mix(s[i], s[i + 1]);
    for (; i < N - 1; i++) s[i] = s[i + M - N] ^ mix(s[i], s[i + 1]);
    s[N - 1] = s[M - 1] ^ mix(s[N - 1], s[0]);
  }
}

/** Upstream's `twist(u, v)`: u's top bit and v's low 31 bits, shifted right, xor MATRIX_A if v is odd. */
function mix(u: number, v: number): number {
  return (((u & UPPER_MASK) | (v & LOWER_MASK)) >>> 1) ^ (v & 1 ? MATRIX_A : 0);
}
