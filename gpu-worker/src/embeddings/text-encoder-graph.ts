// A text encoder's graph as the model serves it: the file itself, or, when the model has
// textual-inversion embeddings, the file with their rows in its token embedding
// (token-embedding.ts). The changed bytes are derived again whenever asked for (a LoRA merge
// into the text encoder starts from them) rather than kept: a full-size encoder is hundreds of MB.
import { readFileSync } from 'node:fs';
import { externalFilesOf, readGraphLayout } from '../lora/onnx-initializers.ts';
import { openGraphCopy, rangeReader } from '../model/graph-file.ts';
import { ModelFolderError } from '../model/model-folder.ts';
import { createSession, type OpenedSession, type SessionSettings } from '../model/onnx-session.ts';
import type { EmbeddingEntry } from './embedding-library.ts';
import { extendTokenEmbedding, TokenEmbeddingError } from './token-embedding.ts';

export interface TextEncoderGraph {
  path: string;
  /** model.onnx's bytes as served. */
  read(): Uint8Array;
  /** Prompt id → the id the graph looks up. */
  toGraphId(id: number): number;
  /** Prompt ids below this are known: the vocabulary, then the embeddings' vectors. */
  idLimit: number;
  open(settings: SessionSettings): Promise<OpenedSession>;
}

/** The `encoder`-th text encoder at `path` with the rows of `embeddings` added. */
export function textEncoderGraph(
  path: string,
  encoder: number,
  embeddings: readonly EmbeddingEntry[],
  vocabSize: number,
): TextEncoderGraph {
  if (embeddings.length === 0) {
    return {
      path,
      read: () => readFileSync(path),
      toGraphId: (id) => id,
      idLimit: vocabSize,
      open: (settings) => createSession(path, settings),
    };
  }
  const count = embeddings.reduce((sum, e) => sum + e.vectors, 0);
  const rows = new Float32Array(embeddings.reduce((sum, e) => sum + e.rows[encoder].values.length, 0));
  let at = 0;
  for (const e of embeddings) {
    rows.set(e.rows[encoder].values, at);
    at += e.rows[encoder].values.length;
  }
  const layout = readGraphLayout(readFileSync(path));
  const externalFiles = externalFilesOf(layout);
  const extend = () => {
    const file = readFileSync(path);
    try {
      return extendTokenEmbedding(file, layout, rangeReader(path, file), vocabSize, rows, count);
    } catch (error) {
      if (!(error instanceof TokenEmbeddingError)) throw error;
      const widths = embeddings.map((e) => `${e.path}: ${e.rows[encoder].width} wide`).join(', ');
      throw new ModelFolderError(`${path} cannot take the embeddings (${widths}): ${error.message}`);
    }
  };
  // Built once here for the id mapping and kept for the first open (the model's own session),
  // so a start derives the changed bytes once.
  const first = extend();
  let unopened: Uint8Array | undefined = first.model;
  const label = `${path} with ${count} embedding vectors`;
  return {
    path,
    read: () => extend().model,
    toGraphId: first.toGraphId,
    idLimit: vocabSize + count,
    open: (settings) => {
      const model = unopened ?? extend().model;
      unopened = undefined;
      return openGraphCopy(path, model, externalFiles, [], settings, label);
    },
  };
}
