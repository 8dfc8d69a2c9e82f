// A LoRA-merged onnxruntime session for one graph of a model. The graph's layout (where each
// initializer's bytes are) and weight map are read once per model; a merge reads the graph's
// bytes, patches a copy (lora-graph.ts) and opens it. A graph without external data opens from
// memory; one with external data (a full-size UNet) is written to a private temporary folder —
// patched files in full, untouched ones as symlinks to the originals — opened from there, and the
// folder removed at once: onnxruntime has read (or mapped) every byte by then.
import { existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import type { InferenceSession } from 'onnxruntime-node';
import { createSession, type SessionSettings } from '../model/onnx-session.ts';
import type { LoraComponent } from './lora-file.ts';
import { type GraphBytes, patchGraph, type WeightedLayer } from './lora-graph.ts';
import { type OnnxGraphLayout, readGraphLayout } from './onnx-initializers.ts';
import { type DeclaredWeightMap, type WeightTarget, weightMap } from './weight-map.ts';

/** One graph a LoRA can change: its path, layout and module → initializer map. */
export interface LoraTargetGraph {
  component: LoraComponent;
  path: string;
  layout: OnnxGraphLayout;
  weights: ReadonlyMap<string, WeightTarget>;
  /** The external data files model.onnx names (none for a graph under 2 GB). */
  externalFiles: readonly string[];
}

export function readTargetGraph(component: LoraComponent, path: string): LoraTargetGraph {
  const layout = readGraphLayout(readFileSync(path));
  const declaredPath = join(dirname(path), 'weight_map.json');
  const declared = existsSync(declaredPath)
    ? (JSON.parse(readFileSync(declaredPath, 'utf8')) as DeclaredWeightMap)
    : {};
  const externalFiles = new Set<string>();
  for (const init of layout.initializers.values()) {
    if (init.data.location === 'external') externalFiles.add(init.data.file);
  }
  return { component, path, layout, weights: weightMap(layout, declared), externalFiles: [...externalFiles] };
}

function readGraphBytes(graph: LoraTargetGraph): GraphBytes {
  const dir = dirname(graph.path);
  return {
    model: readFileSync(graph.path),
    external: new Map(graph.externalFiles.map((file) => [file, readFileSync(join(dir, file))])),
  };
}

export interface MergedSession {
  session: InferenceSession;
  /** Bytes of the patched copy (what this merge costs in memory, about the graph's size). */
  bytes: number;
  initializers: number;
}

export async function openMergedSession(
  graph: LoraTargetGraph,
  layers: readonly WeightedLayer[],
  settings: SessionSettings,
): Promise<MergedSession> {
  const original = readGraphBytes(graph);
  const patched = patchGraph(original, graph.layout, graph.weights, graph.component, layers);
  let bytes = patched.model.byteLength;
  for (const file of patched.external.values()) bytes += file.byteLength;
  const label = `${graph.path} with ${patched.layers} LoRA layers merged`;
  if (graph.externalFiles.length === 0) {
    const { session } = await createSession(patched.model, settings, label);
    return { session, bytes, initializers: patched.initializers };
  }
  const dir = mkdtempSync(join(tmpdir(), 'latent-edge-lora-'));
  try {
    writeFileSync(join(dir, 'model.onnx'), patched.model);
    for (const [file, data] of patched.external) {
      if (data === original.external.get(file))
        symlinkSync(resolve(dirname(graph.path), file), join(dir, file));
      else writeFileSync(join(dir, file), data);
    }
    const { session } = await createSession(join(dir, 'model.onnx'), settings, label);
    return { session, bytes, initializers: patched.initializers };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
