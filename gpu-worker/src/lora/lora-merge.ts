// Merging one LoRA layer into a weight: W ← W + weight · (alpha / rank) · up · down (Hu et al.
// 2021, "LoRA", eq. 3, with kohya's alpha scaling; a conv layer's down [r, in, kh, kw] and up
// [out, r, 1, 1] multiply as [out, r] · [r, in·kh·kw], as LyCORIS's LoCon does). Pure math over
// typed arrays: the weight arrives as float32 in PyTorch's layout, or transposed where the export
// turned a Linear into a MatMul with its weight stored [in, out].
import type { LoraLayer } from './lora-file.ts';

export class LoraShapeError extends Error {
  override name = 'LoraShapeError';
}

/** [out, in·kh·kw]: the LoRA's whole change to the weight at weight 1. */
export function loraDelta(layer: LoraLayer): { values: Float32Array; rows: number; cols: number } {
  const { down, up, rank, alpha } = layer;
  const rows = up.shape[0];
  const cols = down.values.length / rank;
  const scale = alpha / rank;
  const values = new Float32Array(rows * cols);
  for (let o = 0; o < rows; o++) {
    const row = o * cols;
    for (let r = 0; r < rank; r++) {
      const u = up.values[o * rank + r] * scale;
      if (u === 0) continue;
      const d = r * cols;
      for (let c = 0; c < cols; c++) values[row + c] += u * down.values[d + c];
    }
  }
  return { values, rows, cols };
}

/**
 * Refuses a layer that does not fit a weight of `dims` (the initializer's; `transposed`: PyTorch's
 * [out, in] stored as [in, out]), so a LoRA made for another model is refused before any write.
 */
export function checkLoraShape(dims: readonly number[], transposed: boolean, layer: LoraLayer): void {
  const rows = layer.up.shape[0];
  const cols = layer.down.values.length / layer.rank;
  const torchDims = transposed ? [...dims].reverse() : dims;
  const [out, ...rest] = torchDims;
  const inner = rest.reduce((a, b) => a * b, 1);
  const matches =
    out === rows &&
    inner === cols &&
    (layer.down.shape.length === 2 ||
      (rest.length === 3 && rest[0] === layer.down.shape[1] && rest[1] === layer.down.shape[2]));
  if (!matches) {
    throw new LoraShapeError(
      `${layer.component} ${layer.module}: the LoRA changes a [${rows}, ${cols}] weight, the model's is [${torchDims.join(', ')}]`,
    );
  }
}

/** Adds `weight` × the layer's delta to `target` (float32, in place), after `checkLoraShape`. */
export function addLoraDelta(
  target: Float32Array,
  dims: readonly number[],
  transposed: boolean,
  layer: LoraLayer,
  weight: number,
): void {
  checkLoraShape(dims, transposed, layer);
  const { values, rows, cols } = loraDelta(layer);
  if (target.length !== rows * cols) {
    throw new LoraShapeError(
      `${layer.component} ${layer.module}: ${target.length} values, not ${rows * cols}`,
    );
  }
  if (!transposed) {
    for (let i = 0; i < values.length; i++) target[i] += weight * values[i];
    return;
  }
  for (let o = 0; o < rows; o++) {
    for (let c = 0; c < cols; c++) target[c * rows + o] += weight * values[o * cols + c];
  }
}
