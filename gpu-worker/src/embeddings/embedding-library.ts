// The textual-inversion embeddings a model serves: every `embeddings/*.safetensors` in its folder,
// named by the file's base name (what a prompt writes), in name order (the order their ids take).
// They are part of the model: the revision covers them, and each is read and checked against the
// text encoders when the worker starts, so a file for another model family, or a `.pt` pickle,
// stops the start with its path.
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { extname, join } from 'node:path';
import { sortEmbeddings } from '@latent-edge/shared/prompt/prompt-embeddings';
import { readSafetensors, SafetensorsError } from '../lora/safetensors.ts';
import { type ModelFolder, ModelFolderError } from '../model/model-folder.ts';
import { type EmbeddingFile, EmbeddingFormatError, parseEmbedding } from './embedding-file.ts';

export interface EmbeddingEntry extends EmbeddingFile {
  name: string;
  sha256: string;
  path: string;
}

const REFUSED: Record<string, string> = {
  '.pt': 'a PyTorch pickle (loading one runs code it carries)',
  '.bin': 'a PyTorch pickle (loading one runs code it carries)',
  '.ckpt': 'a PyTorch pickle (loading one runs code it carries)',
};

export function embeddingFolder(folder: ModelFolder): string {
  return join(folder.dir, 'embeddings');
}

export function openEmbeddings(folder: ModelFolder, encoders: number): EmbeddingEntry[] {
  const dir = embeddingFolder(folder);
  if (!existsSync(dir)) return [];
  const entries: EmbeddingEntry[] = [];
  for (const file of readdirSync(dir)) {
    const path = join(dir, file);
    const ext = extname(file);
    if (REFUSED[ext]) {
      throw new ModelFolderError(
        `embedding ${path} is ${REFUSED[ext]}; convert it to safetensors (DEPLOY.md, "Textual-inversion embeddings")`,
      );
    }
    if (ext !== '.safetensors') continue;
    try {
      const bytes = readFileSync(path);
      const parsed = parseEmbedding(readSafetensors(bytes, path), encoders);
      const sha256 = createHash('sha256').update(bytes).digest('hex');
      entries.push({ name: file.slice(0, -ext.length), sha256, path, ...parsed });
    } catch (error) {
      if (error instanceof EmbeddingFormatError || error instanceof SafetensorsError) {
        throw new ModelFolderError(`embedding ${path}: ${error.message}`);
      }
      throw error;
    }
  }
  return sortEmbeddings(entries);
}
