// A LoRA-merged onnxruntime session for one graph of a model. The graph's layout (where each
// initializer's bytes are) and weight map are read once per model; a merge reads the graph's
// bytes (only the ranges it changes, for external data), patches a copy (lora-graph.ts) and opens
// it. A graph without external data opens from memory; one with external data (a full-size UNet)
// is written to a private temporary folder — a patched file copied and written in place, untouched
// ones as symlinks to the originals — opened from there, and the folder removed at once:
// onnxruntime has read (or mapped) every byte by then.
import {
  closeSync,
  copyFileSync,
  existsSync,
  mkdtempSync,
  openSync,
  readFileSync,
  readSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import type { InferenceSession } from 'onnxruntime-node';
import { createSession, type SessionSettings } from '../model/onnx-session.ts';
import type { LoraComponent } from './lora-file.ts';
import { type GraphReader, MODEL_FILE, patchGraph, type WeightedLayer } from './lora-graph.ts';
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

/** Byte ranges of the graph's files, read on demand (external files can be past 2 GiB). */
function rangeReader(graph: LoraTargetGraph, model: Uint8Array): GraphReader {
  const dir = dirname(graph.path);
  return (file, offset, length) => {
    if (file === MODEL_FILE) return model.subarray(offset, offset + length);
    const bytes = new Uint8Array(length);
    const fd = openSync(join(dir, file), 'r');
    try {
      let done = 0;
      while (done < length) {
        const n = readSync(fd, bytes, done, length - done, offset + done);
        if (n === 0) throw new Error(`${join(dir, file)} ends before byte ${offset + length}`);
        done += n;
      }
    } finally {
      closeSync(fd);
    }
    return bytes;
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
  const model = readFileSync(graph.path);
  const patch = patchGraph(rangeReader(graph, model), graph.layout, graph.weights, graph.component, layers);
  const dir = dirname(graph.path);
  let bytes = model.byteLength;
  for (const file of graph.externalFiles) bytes += statSync(join(dir, file)).size;
  const label = `${graph.path} with ${patch.layers} LoRA layers merged`;
  const patched = new Uint8Array(model); // a copy: Buffer.prototype.slice would share the original's memory
  for (const write of patch.writes) if (write.file === MODEL_FILE) patched.set(write.bytes, write.offset);
  if (graph.externalFiles.length === 0) {
    const { session } = await createSession(patched, settings, label);
    return { session, bytes, initializers: patch.initializers };
  }
  const tmp = mkdtempSync(join(tmpdir(), 'latent-edge-lora-'));
  try {
    writeFileSync(join(tmp, 'model.onnx'), patched);
    for (const file of graph.externalFiles) {
      const writes = patch.writes.filter((w) => w.file === file);
      if (writes.length === 0) {
        symlinkSync(resolve(dir, file), join(tmp, file));
        continue;
      }
      copyFileSync(join(dir, file), join(tmp, file));
      const fd = openSync(join(tmp, file), 'r+');
      try {
        for (const write of writes) writeSync(fd, write.bytes, 0, write.bytes.length, write.offset);
      } finally {
        closeSync(fd);
      }
    }
    const { session } = await createSession(join(tmp, 'model.onnx'), settings, label);
    return { session, bytes, initializers: patch.initializers };
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}
