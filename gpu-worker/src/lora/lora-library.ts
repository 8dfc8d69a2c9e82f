// The LoRAs a model serves: every `loras/*.safetensors` in its folder, named by the file's base
// name (what `<lora:name:weight>` and the `loras` field say), identified by the SHA-256 of its
// bytes. Each file is read, parsed and checked against the model's graphs when the worker starts,
// so a LoRA for another model family, or a file that is not a LoRA, stops the start with its path
// instead of failing a request later.
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { DiffusionModel } from '../model/diffusion-model.ts';
import { type ModelFolder, ModelFolderError } from '../model/model-folder.ts';
import { type LoraComponent, type LoraFile, LoraFormatError, parseLora } from './lora-file.ts';
import { checkLoraShape, LoraShapeError } from './lora-merge.ts';
import { type LoraTargetGraph, readTargetGraph } from './lora-session.ts';
import { OnnxFormatError } from './onnx-initializers.ts';
import { readSafetensors, SafetensorsError } from './safetensors.ts';

export interface LoraEntry {
  name: string;
  sha256: string;
  path: string;
  file: LoraFile;
  /** The graphs it changes. */
  components: LoraComponent[];
}

export interface LoraLibrary {
  entries: ReadonlyMap<string, LoraEntry>;
  /** The graphs LoRAs can change, read once; only those some LoRA targets. */
  graphs: ReadonlyMap<LoraComponent, LoraTargetGraph>;
}

/** `<lora:name:weight>` splits on ":" and ends at ">", as A1111's parser does. */
const NAME = /^[^:<>]{1,100}$/;

export function loraFolder(folder: ModelFolder): string {
  return join(folder.dir, 'loras');
}

/** The graphs as the model serves them: text encoders with the embeddings' rows, if any. */
function servedGraphs(model: DiffusionModel): Record<LoraComponent, LoraTargetGraph['read'] | undefined> {
  const [first, second] = model.textEncoders.map((e) => e.graph);
  return {
    unet: () => readFileSync(model.folder.unetPath),
    text_encoder: first && (() => first.read()),
    text_encoder_2: second && (() => second.read()),
  };
}

function graphPaths(folder: ModelFolder): Record<LoraComponent, string | undefined> {
  return {
    unet: folder.unetPath,
    text_encoder: folder.textEncoderPath,
    text_encoder_2: folder.textEncoder2Path,
  };
}

export function openLoraLibrary(model: DiffusionModel): LoraLibrary {
  const { folder } = model;
  const dir = loraFolder(folder);
  const entries = new Map<string, LoraEntry>();
  const graphs = new Map<LoraComponent, LoraTargetGraph>();
  if (!existsSync(dir)) return { entries, graphs };
  const paths = graphPaths(folder);
  const reads = servedGraphs(model);
  const graphOf = (component: LoraComponent, file: string): LoraTargetGraph => {
    let graph = graphs.get(component);
    if (graph) return graph;
    const path = paths[component];
    if (!path)
      throw new LoraShapeError(
        `${file} changes ${component}, which this model does not have (a LoRA for SDXL?)`,
      );
    graph = readTargetGraph(component, path, reads[component]);
    graphs.set(component, graph);
    return graph;
  };
  for (const name of readdirSync(dir).sort()) {
    if (!name.endsWith('.safetensors')) continue;
    const path = join(dir, name);
    const loraName = name.slice(0, -'.safetensors'.length);
    try {
      if (!NAME.test(loraName)) {
        throw new LoraFormatError(
          `the name "${loraName}" cannot be written as <lora:name:weight> (no ":", "<" or ">")`,
        );
      }
      const bytes = readFileSync(path);
      const file = parseLora(readSafetensors(bytes, path), path);
      const components = [...new Set(file.layers.map((l) => l.component))];
      for (const layer of file.layers) {
        const graph = graphOf(layer.component, path);
        const target = graph.weights.get(layer.module);
        if (!target) {
          throw new LoraShapeError(
            `${layer.component} has no layer ${layer.module} (a LoRA for another model family?)`,
          );
        }
        const init = graph.layout.initializers.get(target.initializer);
        checkLoraShape(init?.dims ?? [], target.transposed, layer);
      }
      const sha256 = createHash('sha256').update(bytes).digest('hex');
      entries.set(loraName, { name: loraName, sha256, path, file, components });
    } catch (error) {
      if (
        error instanceof LoraFormatError ||
        error instanceof LoraShapeError ||
        error instanceof SafetensorsError ||
        error instanceof OnnxFormatError
      ) {
        throw new ModelFolderError(`LoRA ${path}: ${error.message}`);
      }
      throw error;
    }
  }
  return { entries, graphs };
}
