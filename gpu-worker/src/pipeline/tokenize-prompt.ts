// A prompt tokenized for every text encoder of a model, for callers that hold the text rather
// than the edge's token ids (the CLI, the tests). SDXL's two tokenizers share the BPE and differ in
// padding, so the same A1111 chunking gives one chunk per chunk for each.
import { type TokenizeWeightedOptions, tokenizeWeighted } from '@latent-edge/shared/prompt/prompt-chunks';
import type { DiffusionModel } from '../model/diffusion-model.ts';
import type { PromptSource } from './encode-prompt.ts';

export function tokenizePrompt(
  model: DiffusionModel,
  text: string,
  options: TokenizeWeightedOptions = {},
): PromptSource {
  const [first, second] = model.textEncoders.map((e) =>
    tokenizeWeighted(e.tokenizer, text, { embeddings: e.embeddings, ...options }),
  );
  return { chunks: first.chunks, chunks2: second?.chunks };
}
