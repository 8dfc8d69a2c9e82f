// A LoRA set written into one graph's weights: for every layer of the set that targets this
// component, the initializer the weight map names is read (float32 or float16, inside model.onnx
// or in an external data file), W + Σ weight · ΔW is computed in float32, and the result is
// written back at the same byte range of a copy (as a list of writes, applied by lora-session.ts).
// The graph's structure is untouched, so the copy opens as the same model with other numbers. Everything is checked before the first write:
// a layer whose module the graph lacks or whose shape differs refuses the whole set.
import { setImmediate as nextTurn } from 'node:timers/promises';
import { float16ToFloat32, float32ToFloat16 } from '../model/float16.ts';
import { type GraphReader, type GraphWrite, MODEL_FILE } from '../model/graph-file.ts';
import type { LoraComponent, LoraLayer } from './lora-file.ts';
import { addLoraDelta, LoraShapeError } from './lora-merge.ts';
import { ONNX_FLOAT, ONNX_FLOAT16, type OnnxGraphLayout, type OnnxInitializer } from './onnx-initializers.ts';
import type { WeightTarget } from './weight-map.ts';

export interface WeightedLayer {
  layer: LoraLayer;
  /** The user's weight for the file this layer came from (A1111's `<lora:name:weight>`). */
  weight: number;
  /** The LoRA's name, for errors. */
  lora: string;
}

export interface GraphPatch {
  writes: GraphWrite[];
  /** Initializers rewritten, and how many LoRA layers went into them. */
  initializers: number;
  layers: number;
}

function toFloats(bytes: Uint8Array, init: OnnxInitializer): Float32Array {
  // A copy at offset 0 (a Node Buffer's slice() would be a view), so the typed array is aligned.
  const copy = new Uint8Array(bytes);
  if (init.dataType === ONNX_FLOAT) return new Float32Array(copy.buffer, 0, copy.length / 4);
  return float16ToFloat32(new Uint16Array(copy.buffer, 0, copy.length / 2));
}

function toBytes(init: OnnxInitializer, values: Float32Array): Uint8Array {
  const encoded = init.dataType === ONNX_FLOAT ? values : float32ToFloat16(values);
  return new Uint8Array(encoded.buffer, encoded.byteOffset, encoded.byteLength);
}

/**
 * The writes that merge `layers` (those of `component`) into the graph; every check comes first.
 * The arithmetic yields to the event loop after each initializer, so other jobs' UNet steps keep
 * running while a set is built: a pause lasts one weight's merge, not the whole set's.
 */
export async function patchGraph(
  read: GraphReader,
  layout: OnnxGraphLayout,
  weights: ReadonlyMap<string, WeightTarget>,
  component: LoraComponent,
  layers: readonly WeightedLayer[],
): Promise<GraphPatch> {
  const byInitializer = new Map<string, { target: WeightTarget; layers: WeightedLayer[] }>();
  for (const entry of layers) {
    if (entry.layer.component !== component) continue;
    const target = weights.get(entry.layer.module);
    if (!target) {
      throw new LoraShapeError(
        `LoRA "${entry.lora}": ${component} has no layer ${entry.layer.module} (a LoRA for another model family?)`,
      );
    }
    const group = byInitializer.get(target.initializer) ?? { target, layers: [] };
    group.layers.push(entry);
    byInitializer.set(target.initializer, group);
  }
  const writes: GraphWrite[] = [];
  let merged = 0;
  for (const { target, layers: group } of byInitializer.values()) {
    const init = layout.initializers.get(target.initializer) as OnnxInitializer;
    if (init.dataType !== ONNX_FLOAT && init.dataType !== ONNX_FLOAT16) {
      throw new LoraShapeError(
        `${component} ${target.param}: weights of ONNX type ${init.dataType}, not float`,
      );
    }
    if (init.data.location === 'other') {
      throw new LoraShapeError(`${component} ${target.param}: stored in a typed field, not raw bytes`);
    }
    const file = init.data.location === 'raw' ? MODEL_FILE : init.data.file;
    const values = toFloats(read(file, init.data.offset, init.data.length), init);
    for (const { layer, weight, lora } of group) {
      try {
        addLoraDelta(values, init.dims, target.transposed, layer, weight);
      } catch (error) {
        throw new LoraShapeError(`LoRA "${lora}": ${(error as Error).message}`);
      }
    }
    writes.push({ file, offset: init.data.offset, bytes: toBytes(init, values) });
    merged += group.length;
    await nextTurn();
  }
  return { writes, initializers: writes.length, layers: merged };
}
