// A LoRA set written into one graph's weights: for every layer of the set that targets this
// component, the initializer the weight map names is read (float32 or float16, inside model.onnx
// or in an external data file), W + Σ weight · ΔW is computed in float32, and the result is
// written back at the same byte range of a copy. The graph's structure is untouched, so the
// copy opens as the same model with other numbers. Everything is checked before the first write:
// a layer whose module the graph lacks or whose shape differs refuses the whole set.
import { float16ToFloat32, float32ToFloat16 } from '../model/float16.ts';
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

/** One graph's bytes: model.onnx, and its external data files by the name model.onnx gives them. */
export interface GraphBytes {
  model: Uint8Array;
  external: ReadonlyMap<string, Uint8Array>;
}

/** The key of model.onnx's own bytes among the buffers written (no external file has an empty name). */
const MODEL = '';

export interface PatchedGraph extends GraphBytes {
  /** Initializers rewritten, and how many LoRA layers went into them. */
  initializers: number;
  layers: number;
}

function readFloats(bytes: Uint8Array, init: OnnxInitializer, offset: number, length: number): Float32Array {
  // A copy (a Node Buffer's slice() would be a view) at offset 0, so the typed array is aligned.
  const copy = new Uint8Array(bytes.subarray(offset, offset + length));
  if (init.dataType === ONNX_FLOAT) return new Float32Array(copy.buffer, copy.byteOffset, length / 4);
  return float16ToFloat32(new Uint16Array(copy.buffer, copy.byteOffset, length / 2));
}

function writeFloats(bytes: Uint8Array, init: OnnxInitializer, offset: number, values: Float32Array): void {
  const encoded = init.dataType === ONNX_FLOAT ? values : float32ToFloat16(values);
  bytes.set(new Uint8Array(encoded.buffer, encoded.byteOffset, encoded.byteLength), offset);
}

/**
 * `layers` (those of `component`) merged into a copy of `graph`; buffers no layer touches are
 * shared with `graph`, not copied.
 */
export function patchGraph(
  graph: GraphBytes,
  layout: OnnxGraphLayout,
  weights: ReadonlyMap<string, WeightTarget>,
  component: LoraComponent,
  layers: readonly WeightedLayer[],
): PatchedGraph {
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
  const writes: { bytes: string; offset: number; init: OnnxInitializer; values: Float32Array }[] = [];
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
    const file = init.data.location === 'raw' ? MODEL : init.data.file;
    const source = file === MODEL ? graph.model : graph.external.get(file);
    if (!source) throw new LoraShapeError(`${component}: external data file ${file} not loaded`);
    const values = readFloats(source, init, init.data.offset, init.data.length);
    for (const { layer, weight, lora } of group) {
      try {
        addLoraDelta(values, init.dims, target.transposed, layer, weight);
      } catch (error) {
        throw new LoraShapeError(`LoRA "${lora}": ${(error as Error).message}`);
      }
    }
    writes.push({
      bytes: file,
      offset: init.data.offset,
      init,
      values,
    });
  }
  const copies = new Map<string, Uint8Array>();
  const copyOf = (key: string, original: Uint8Array) => {
    let copy = copies.get(key);
    if (!copy) {
      copy = new Uint8Array(original); // a copy: Buffer.prototype.slice would share the original's memory
      copies.set(key, copy);
    }
    return copy;
  };
  for (const write of writes) {
    const original = write.bytes === MODEL ? graph.model : (graph.external.get(write.bytes) as Uint8Array);
    writeFloats(copyOf(write.bytes, original), write.init, write.offset, write.values);
  }
  const external = new Map(graph.external);
  for (const [key, bytes] of copies) if (key !== MODEL) external.set(key, bytes);
  return {
    model: copies.get(MODEL) ?? graph.model,
    external,
    initializers: writes.length,
    layers: writes.reduce((n, w) => n + (byInitializer.get(w.init.name)?.layers.length ?? 0), 0),
  };
}
