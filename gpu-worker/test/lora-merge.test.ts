// The merge W + weight · (alpha / rank) · up · down on matrices small enough to multiply by hand,
// in PyTorch's layout, in the transposed layout of an exported MatMul, and for a LoCon conv.
import { describe, expect, it } from 'vitest';
import type { LoraLayer } from '../src/lora/lora-file.ts';
import { addLoraDelta, LoraShapeError, loraDelta } from '../src/lora/lora-merge.ts';

function layer(up: number[][], down: number[][], alpha: number, downShape?: number[]): LoraLayer {
  const rank = down.length;
  return {
    component: 'unet',
    module: 'test_module',
    up: { values: Float32Array.from(up.flat()), shape: [up.length, rank] },
    down: { values: Float32Array.from(down.flat()), shape: downShape ?? [rank, down[0].length] },
    rank,
    alpha,
  };
}

// up [[1, 0], [0, 2]] · down [[1, 2], [3, 4]] = [[1, 2], [6, 8]]; alpha 1 / rank 2 halves it.
const rank2 = layer(
  [
    [1, 0],
    [0, 2],
  ],
  [
    [1, 2],
    [3, 4],
  ],
  1,
);

describe('loraDelta and addLoraDelta', () => {
  it('is (alpha / rank) · up · down', () => {
    expect([...loraDelta(rank2).values]).toEqual([0.5, 1, 3, 4]);
    // rank 1, alpha = rank: up [[1], [2]] · down [[3, 4, 5]].
    const outer = loraDelta(layer([[1], [2]], [[3, 4, 5]], 1));
    expect(outer).toMatchObject({ rows: 2, cols: 3 });
    expect([...outer.values]).toEqual([3, 4, 5, 6, 8, 10]);
  });

  it('adds weight × delta to a PyTorch-layout weight, and to the transpose of an exported MatMul', () => {
    const torch = Float32Array.of(10, 20, 30, 40);
    addLoraDelta(torch, [2, 2], false, rank2, 2);
    expect([...torch]).toEqual([11, 22, 36, 48]);
    // The same weight stored [in, out]: [[10, 30], [20, 40]].
    const matmul = Float32Array.of(10, 30, 20, 40);
    addLoraDelta(matmul, [2, 2], true, rank2, 2);
    expect([...matmul]).toEqual([11, 36, 22, 48]);
  });

  it('leaves the weight as it was at weight 0', () => {
    const w = Float32Array.of(0.1, -0.2, 0.3, 1e-8);
    addLoraDelta(w, [2, 2], false, rank2, 0);
    expect([...w]).toEqual([...Float32Array.of(0.1, -0.2, 0.3, 1e-8)]);
  });

  it('merges a LoCon conv layer: down [r, in, kh, kw], up [out, r, 1, 1]', () => {
    // rank 1, in 1, 2×1 kernel, out 2: delta[o][0][k][0] = up[o] · down[k].
    const conv = layer([[1], [-1]], [[5, 7]], 1, [1, 1, 2, 1]);
    conv.up.shape = [2, 1, 1, 1];
    const w = new Float32Array(4);
    addLoraDelta(w, [2, 1, 2, 1], false, conv, 1);
    expect([...w]).toEqual([5, 7, -5, -7]);
  });

  it('refuses a LoRA whose shape is not the weight’s, before writing anything', () => {
    const w = new Float32Array(6);
    expect(() => addLoraDelta(w, [3, 2], false, rank2, 1)).toThrow(LoraShapeError);
    expect(() => addLoraDelta(w, [3, 2], false, rank2, 1)).toThrow(
      "unet test_module: the LoRA changes a [2, 2] weight, the model's is [3, 2]",
    );
    expect([...w]).toEqual([0, 0, 0, 0, 0, 0]);
  });
});
