// POST /v1/tokenize: how a prompt tokenizes for a model, exactly as a generation would see it:
// A1111 emphasis weights, 75-token chunks, counts, and each token's text, for each text encoder;
// `<lora:…>` tags are taken out first (they cost no tokens) and listed, checked against the model.
import { tokenizeWeighted } from '@latent-edge/shared/prompt/prompt-chunks';
import { PromptError } from '@latent-edge/shared/prompt/prompt-errors';
import { LIMITS } from '@latent-edge/shared/protocol/limits';
import { Hono } from 'hono';
import { z } from 'zod';
import { SMALL_BODY_BYTES } from '../config/edge-config.ts';
import type { AppEnv } from '../env.ts';
import { chooseLoras } from '../generation/lora-choices.ts';
import { readLoraTags } from '../generation/prepare-generation.ts';
import { findModel, type ServedModel } from '../generation/served-models.ts';
import { ApiError } from '../http/api-error.ts';
import { readJson } from '../http/read-json.ts';

export const tokenize = new Hono<AppEnv>();

export const TokenizeRequest = z.strictObject({
  prompt: z.string().max(LIMITS.promptChars),
  model: z.string().min(1).max(100).optional(),
});

/** One tokenizer's view of the prompt: its chunks, each with ids, weights and token texts. */
function report(model: ServedModel, encoder: 0 | 1, prompt: string) {
  const tokenizer = encoder === 1 && model.tokenizer2 ? model.tokenizer2() : model.tokenizer();
  const embeddings = model.embeddingLookup(encoder);
  let result: ReturnType<typeof tokenizeWeighted>;
  try {
    result = tokenizeWeighted(tokenizer, prompt, {
      field: 'prompt',
      embeddings,
    });
  } catch (error) {
    if (error instanceof PromptError)
      throw new ApiError(400, 'invalid_request', error.message, { field: 'prompt' });
    throw error;
  }
  const special = new Set([tokenizer.bos, tokenizer.eos, tokenizer.pad]);
  return {
    count: result.tokenCount,
    chunks: result.chunks.map((chunk) => ({
      ids: chunk.ids,
      weights: chunk.weights,
      tokens: chunk.ids
        .map((id, i) => ({ id, i }))
        .filter(({ id, i }) => i > 0 && !special.has(id))
        .map(({ id, i }) => ({
          text: tokenizer.idToToken(id) ?? embeddings.nameOf(id) ?? '',
          weight: chunk.weights[i],
          ...(embeddings.nameOf(id) !== undefined && { embedding: embeddings.nameOf(id) }),
        })),
    })),
    embeddings: result.embeddings,
  };
}

tokenize.post('/', async (c) => {
  const request = await readJson(c, TokenizeRequest, SMALL_BODY_BYTES);
  const model = findModel(c.var.config, request.model);
  const tokenizer = model.tokenizer();
  const { text, loras: tags } = readLoraTags(request.prompt, 'prompt');
  const loras = chooseLoras(model, [], tags);
  const first = report(model, 0, text);
  // SDXL's second encoder has its own tokenizer (OpenCLIP's pad id), so its ids differ.
  const second = model.tokenizer2 && report(model, 1, text);
  return c.json({
    model: model.config.id,
    revision: model.revision,
    token_count: first.count,
    token_limit: LIMITS.maxPromptChunks * (tokenizer.maxLength - 2),
    truncated: false,
    chunks: first.chunks,
    loras: loras.map(({ name, weight }) => ({ name, weight })),
    embeddings: first.embeddings,
    ...(second && { token_count_2: second.count, chunks_2: second.chunks }),
  });
});
