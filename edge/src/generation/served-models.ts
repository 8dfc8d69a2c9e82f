// The models this edge serves: each configured model joined with its compiled tokenizer and its
// revision from edge/generated/models.ts (npm run build:tokenizers). A tokenizer is decoded on
// first use and kept for the isolate's life (under a millisecond; SD-NOTES §6.1 on cold starts).
import { type EmbeddingLookup, embeddingLookup } from '@latent-edge/shared/prompt/prompt-embeddings';
import type { ClipTokenizer } from '@latent-edge/shared/tokenizer/clip-tokenizer';
import { loadCompiledTokenizer } from '@latent-edge/shared/tokenizer/compiled-tokenizer';
import { COMPILED_MODELS } from '../../generated/models.ts';
import type { EdgeConfig } from '../config/edge-config.ts';
import type { ModelConfig } from '../config/model-config.ts';
import { ApiError } from '../http/api-error.ts';

export interface ServedLora {
  name: string;
  sha256: string;
  /** Changes a text encoder, so embeddings with it are not the base model's. */
  textEncoder: boolean;
}

export interface ServedEmbedding {
  name: string;
  sha256: string;
  /** Prompt tokens it takes. */
  vectors: number;
  /** Width of its (first text encoder's) vectors. */
  width: number;
}

export interface ServedModel {
  config: ModelConfig;
  revision: string;
  /** The LoRA files in the model folder's loras/, as compiled at build time. */
  loras: readonly ServedLora[];
  /** The textual-inversion embeddings in the model folder's embeddings/, in name order. */
  embeddings: readonly ServedEmbedding[];
  tokenizer(): ClipTokenizer;
  /** The second text encoder's tokenizer (SDXL), when the model has one. */
  tokenizer2?: () => ClipTokenizer;
  /** Finds the embeddings' names in prompt tokens, per tokenizer (index 1: SDXL's second). */
  embeddingLookup(encoder: 0 | 1): EmbeddingLookup;
}

const tokenizers = new Map<string, ClipTokenizer>();

const lookups = new Map<string, EmbeddingLookup>();

function cachedLookup(key: string, tokenizer: ClipTokenizer, embeddings: readonly ServedEmbedding[]) {
  let lookup = lookups.get(key);
  if (!lookup) {
    lookup = embeddingLookup(tokenizer, embeddings);
    lookups.set(key, lookup);
  }
  return lookup;
}

function cachedTokenizer(key: string, blob: ArrayBuffer): ClipTokenizer {
  let tokenizer = tokenizers.get(key);
  if (!tokenizer) {
    tokenizer = loadCompiledTokenizer(blob);
    tokenizers.set(key, tokenizer);
  }
  return tokenizer;
}

export function servedModels(config: EdgeConfig): ServedModel[] {
  return config.MODELS.map((model) => {
    const compiled = COMPILED_MODELS.find((m) => m.id === model.id);
    if (!compiled) {
      throw new ApiError(
        500,
        'misconfigured',
        `model "${model.id}" has no compiled tokenizer; run npm run build:tokenizers`,
      );
    }
    if (model.family === 'sdxl' && !compiled.tokenizer2) {
      throw new ApiError(
        500,
        'misconfigured',
        `model "${model.id}" is family "sdxl" but has no compiled tokenizer_2; check its source folder`,
      );
    }
    const blob2 = compiled.tokenizer2;
    const embeddings = compiled.embeddings ?? [];
    const tokenizer = () => cachedTokenizer(model.id, compiled.tokenizer);
    const tokenizer2 = blob2 ? () => cachedTokenizer(`${model.id}#2`, blob2) : undefined;
    return {
      config: model,
      revision: model.revision ?? compiled.revision,
      loras: compiled.loras ?? [],
      embeddings,
      tokenizer,
      tokenizer2,
      embeddingLookup: (encoder) =>
        cachedLookup(
          `${model.id}#${encoder}`,
          encoder === 1 && tokenizer2 ? tokenizer2() : tokenizer(),
          embeddings,
        ),
    };
  });
}

/** The requested model, or the first configured one when the request names none. */
export function findModel(config: EdgeConfig, id: string | undefined, field = 'model'): ServedModel {
  const models = servedModels(config);
  if (id === undefined) return models[0];
  const model = models.find((m) => m.config.id === id);
  if (!model) {
    throw new ApiError(
      400,
      'invalid_request',
      `${field}: unknown model ${JSON.stringify(id)}; served: ${models.map((m) => m.config.id).join(', ')}`,
      { field },
    );
  }
  return model;
}
