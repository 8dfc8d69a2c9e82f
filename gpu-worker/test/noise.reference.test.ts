// Parity with PyTorch 1.13.1 CPU `torch.randn` on x86-64 with AVX2 dispatch (the `avx2` variant
// of the reference data; see its README, "torch-randn/"). Tolerance: none, every element must
// be bit-identical, including the sign of zero.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { referenceDir, reportCases } from '../../test/reference.ts';
import { TorchGenerator } from '../src/noise/torch-generator.ts';

interface RandnCall {
  shape: number[];
  files: { avx2: string; scalar: string };
}
interface SingleCase extends RandnCall {
  seed_str: string;
  dtype: 'float32' | 'float64';
}
interface SequenceCase {
  seed_str: string;
  dtype: 'float32' | 'float64';
  calls: RandnCall[];
}
interface RandnIndex {
  singles: SingleCase[];
  sequences: SequenceCase[];
}

const VARIANT = 'avx2';
const dir = referenceDir('torch-randn');
const index: RandnIndex = dir
  ? JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8'))
  : { singles: [], sequences: [] };

const sequenceName = (c: SequenceCase) =>
  `seed ${c.seed_str}, ${c.dtype}: ${c.calls.map((call) => `[${call.shape}]`).join(' then ')}`;
const cases = [
  ...index.singles.map((c) => ({
    name: `seed ${c.seed_str}, [${c.shape}], ${c.dtype}`,
    seed: c.seed_str,
    dtype: c.dtype,
    calls: [c as RandnCall],
  })),
  ...index.sequences.map((c) => ({
    name: sequenceName(c),
    seed: c.seed_str,
    dtype: c.dtype,
    calls: c.calls,
  })),
];

function readExpected(file: string, dtype: 'float32' | 'float64'): Float32Array | Float64Array {
  // Copy into a fresh buffer: a Buffer's byte offset need not be aligned for a typed array view.
  const bytes = new Uint8Array(readFileSync(join(dir as string, file))).buffer;
  return dtype === 'float32' ? new Float32Array(bytes) : new Float64Array(bytes);
}

/** The first index whose element differs in any bit (Object.is tells −0 from +0), or -1. */
function firstMismatch(actual: Float32Array | Float64Array, expected: Float32Array | Float64Array): number {
  if (actual.length !== expected.length) return Math.min(actual.length, expected.length);
  for (let i = 0; i < actual.length; i++) if (!Object.is(actual[i], expected[i])) return i;
  return -1;
}

describe.skipIf(dir === null)(`torch.randn parity (${VARIANT})`, () => {
  let passed = 0;
  afterAll(() => reportCases('torch-randn', passed, cases.length));

  it('finds cases in index.json', () => {
    expect(cases.length).toBeGreaterThan(0);
  });

  for (const c of cases) {
    it(`matches torch for ${c.name}`, () => {
      const generator = new TorchGenerator(BigInt(c.seed));
      c.calls.forEach((call, callIndex) => {
        const expected = readExpected(call.files[VARIANT], c.dtype);
        const actual =
          c.dtype === 'float32' ? generator.randn(call.shape) : generator.randnFloat64(call.shape);
        const at = firstMismatch(actual, expected);
        const where = `call ${callIndex} ([${call.shape}]), first mismatch at element ${at}`;
        expect(at === -1 ? 'match' : `${where}: got ${actual[at]}, want ${expected[at]}`).toBe('match');
      });
      passed++;
    });
  }
});
