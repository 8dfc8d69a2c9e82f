// fma(a, b, c) for doubles: a·b + c rounded once, which JavaScript has no operator for. glibc's
// FMA builds of log, sin and cos (see glibc-log.ts, glibc-sincos.ts) depend on it.
//
// Boldo & Melquiond, "Emulation of FMA and correctly rounded sums: proved algorithms using
// rounding to odd", IEEE Trans. Computers 57(4), 2008, Algorithm 5.4: with a·b = ph + pl
// (Dekker) and c + ph = sh + sl (Knuth's TwoSum), fma = RN(sh + RO(sl + pl)), where RO rounds
// to odd. Exact for finite inputs whose intermediate values neither overflow nor go subnormal,
// which holds for every argument randn passes.

/** Veltkamp's splitter for doubles: 2^27 + 1. */
const SPLIT = 134217729;

const scratch = new DataView(new ArrayBuffer(8));

export function fma(a: number, b: number, c: number): number {
  const ph = a * b;
  let t = SPLIT * a;
  const ah = t - (t - a);
  const al = a - ah;
  t = SPLIT * b;
  const bh = t - (t - b);
  const bl = b - bh;
  const pl = ah * bh - ph + ah * bl + al * bh + al * bl;

  const sh = c + ph;
  let v = sh - c;
  const sl = c - (sh - v) + (ph - v);

  const m = sl + pl;
  v = m - sl;
  const err = sl - (m - v) + (pl - v);
  return sh + (err === 0 ? m : roundToOdd(m, err));
}

/**
 * The odd-significand neighbour among the two doubles around m + err, given m = RN(m + err)
 * and err ≠ 0 (so m ≠ 0): m itself when odd, else the next double in err's direction.
 */
function roundToOdd(m: number, err: number): number {
  scratch.setFloat64(0, m);
  let high = scratch.getUint32(0);
  let low = scratch.getUint32(4);
  if (low & 1) return m;
  if (m > 0 === err > 0) {
    low += 1; // low is even, so this cannot carry
  } else {
    if (low === 0) high -= 1;
    low = (low - 1) >>> 0;
  }
  scratch.setUint32(0, high);
  scratch.setUint32(4, low);
  return scratch.getFloat64(0);
}
