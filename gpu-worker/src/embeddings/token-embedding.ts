// Textual-inversion vectors as rows of a text encoder's token-embedding matrix (the initializer
// the graph Gathers input_ids from), so the unchanged graph looks them up like any token.
//
// Prompts carry them as ids past the vocabulary (shared/src/prompt/prompt-embeddings.ts). Where
// the rows go depends on how the graph pools: CLIP exports from transformers pick the pooled
// token with ArgMax(input_ids), i.e. EOS as the largest id. Rows appended after EOS would make an
// embedding the largest id and move SDXL's pooled `text_embeds` onto it, so for such a graph the
// rows go before the EOS row and ids are renumbered on the way in. A graph that finds EOS by
// equality (an Equal node) keeps EOS's id: there the rows are appended. Hidden states are the same
// either way; only the pooled output needs this.

import {
  ONNX_FLOAT,
  ONNX_FLOAT16,
  type OnnxGraphLayout,
  type OnnxInitializer,
} from '../lora/onnx-initializers.ts';
import { replaceInitializer } from '../lora/onnx-rewrite.ts';
import { float32ToFloat16 } from '../model/float16.ts';
import { type GraphReader, MODEL_FILE } from '../model/graph-file.ts';

export class TokenEmbeddingError extends Error {
  override name = 'TokenEmbeddingError';
}

/** The [vocabSize, width] initializer a Gather reads with the token ids. */
export function tokenEmbeddingOf(layout: OnnxGraphLayout, vocabSize: number): OnnxInitializer {
  const found = new Set<OnnxInitializer>();
  for (const node of layout.nodes) {
    const init = node.opType === 'Gather' ? layout.initializers.get(node.inputs[0]) : undefined;
    if (init?.dims.length === 2 && init.dims[0] === vocabSize) found.add(init);
  }
  if (found.size !== 1) {
    throw new TokenEmbeddingError(
      `expected one token-embedding matrix of ${vocabSize} rows (the tokenizer's vocabulary), found ${found.size}`,
    );
  }
  return [...found][0];
}

export interface ExtendedTokenEmbedding {
  /** model.onnx with the longer matrix inline. */
  model: Uint8Array;
  /** Prompt id → graph id. */
  toGraphId(id: number): number;
}

/** `rows` (count × width, row-major) added to the token embedding of the graph in `model`. */
export function extendTokenEmbedding(
  model: Uint8Array,
  layout: OnnxGraphLayout,
  read: GraphReader,
  vocabSize: number,
  rows: Float32Array,
  count: number,
): ExtendedTokenEmbedding {
  const init = tokenEmbeddingOf(layout, vocabSize);
  const width = init.dims[1];
  if (rows.length !== count * width) {
    throw new TokenEmbeddingError(
      `vectors of width ${rows.length / count}; this text encoder's are ${width} wide`,
    );
  }
  if (init.dataType !== ONNX_FLOAT && init.dataType !== ONNX_FLOAT16) {
    throw new TokenEmbeddingError(`the token embedding is of ONNX type ${init.dataType}, not float`);
  }
  if (init.data.location === 'other') {
    throw new TokenEmbeddingError('the token embedding is stored in a typed field, not raw bytes');
  }
  const file = init.data.location === 'raw' ? MODEL_FILE : init.data.file;
  const old = read(file, init.data.offset, init.data.length);
  const added =
    init.dataType === ONNX_FLOAT
      ? new Uint8Array(rows.buffer, rows.byteOffset, rows.byteLength)
      : f16Bytes(rows);
  const rowBytes = old.length / vocabSize;
  const eosFirst =
    !layout.nodes.some((n) => n.opType === 'Equal') && layout.nodes.some((n) => n.opType === 'ArgMax');
  const eos = vocabSize - 1;
  const data = eosFirst
    ? Buffer.concat([old.subarray(0, eos * rowBytes), added, old.subarray(eos * rowBytes)])
    : Buffer.concat([old, added]);
  const extended = replaceInitializer(model, layout, init.name, [vocabSize + count, width], data);
  const toGraphId = eosFirst
    ? (id: number) => (id < eos ? id : id === eos ? eos + count : id - 1)
    : (id: number) => id;
  return { model: extended, toGraphId };
}

function f16Bytes(values: Float32Array): Uint8Array {
  const half = float32ToFloat16(values);
  return new Uint8Array(half.buffer, half.byteOffset, half.byteLength);
}
