// A LoRA-merged onnxruntime session for one graph of a model. The graph's layout (where each
// initializer's bytes are) and weight map are read once per model; a merge reads the graph's
// bytes (only the ranges it changes, for external data), patches a copy (lora-graph.ts) and opens
// it (model/graph-file.ts).
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { InferenceSession } from 'onnxruntime-node';
import { MODEL_FILE, openGraphCopy, rangeReader } from '../model/graph-file.ts';
import type { SessionSettings } from '../model/onnx-session.ts';
import type { LoraComponent } from './lora-file.ts';
import { patchGraph, type WeightedLayer } from './lora-graph.ts';
import { externalFilesOf, type OnnxGraphLayout, readGraphLayout } from './onnx-initializers.ts';
import { type DeclaredWeightMap, type WeightTarget, weightMap } from './weight-map.ts';

/** One graph a LoRA can change: its path, layout and module → initializer map. */
export interface LoraTargetGraph {
  component: LoraComponent;
  path: string;
  layout: OnnxGraphLayout;
  weights: ReadonlyMap<string, WeightTarget>;
  /** The external data files model.onnx names (none for a graph under 2 GB). */
  externalFiles: readonly string[];
  /** model.onnx's bytes as the model serves it (a text encoder with embedding rows differs from the file). */
  read(): Uint8Array;
}

export function readTargetGraph(
  component: LoraComponent,
  path: string,
  read: () => Uint8Array = () => readFileSync(path),
): LoraTargetGraph {
  const layout = readGraphLayout(read());
  const declaredPath = join(dirname(path), 'weight_map.json');
  const declared = existsSync(declaredPath)
    ? (JSON.parse(readFileSync(declaredPath, 'utf8')) as DeclaredWeightMap)
    : {};
  return {
    component,
    path,
    layout,
    weights: weightMap(layout, declared),
    externalFiles: externalFilesOf(layout),
    read,
  };
}

export interface MergedSession {
  session: InferenceSession;
  /** Bytes of the graph merged into (what a cached set costs in memory, about the graph's size). */
  bytes: number;
  initializers: number;
}

export async function openMergedSession(
  graph: LoraTargetGraph,
  layers: readonly WeightedLayer[],
  settings: SessionSettings,
): Promise<MergedSession> {
  const model = graph.read();
  const patch = await patchGraph(
    rangeReader(graph.path, model),
    graph.layout,
    graph.weights,
    graph.component,
    layers,
  );
  const dir = dirname(graph.path);
  let bytes = model.byteLength;
  for (const file of graph.externalFiles) bytes += statSync(join(dir, file)).size;
  const label = `${graph.path} with ${patch.layers} LoRA layers merged`;
  const patched = new Uint8Array(model); // a copy: Buffer.prototype.slice would share the original's memory
  for (const write of patch.writes) if (write.file === MODEL_FILE) patched.set(write.bytes, write.offset);
  const external = patch.writes.filter((w) => w.file !== MODEL_FILE);
  const { session } = await openGraphCopy(
    graph.path,
    patched,
    graph.externalFiles,
    external,
    settings,
    label,
  );
  return { session, bytes, initializers: patch.initializers };
}
