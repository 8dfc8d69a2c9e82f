// One tiny generation per model before /readyz says ready, so the first real job does not pay
// for onnxruntime's lazy initialization and graph optimization.
import type { DiffusionModel } from '../model/diffusion-model.ts';
import { generate } from '../pipeline/generate.ts';
import { TextEncoderCache } from '../pipeline/text-encoder-cache.ts';

export async function warmUp(model: DiffusionModel): Promise<void> {
  const { tokenizer } = model;
  const empty = [tokenizer.bos, tokenizer.eos, ...new Array(tokenizer.maxLength - 2).fill(tokenizer.pad)];
  const chunk = { ids: empty, weights: new Array(tokenizer.maxLength).fill(1) };
  const side = model.folder.sizeMultiple;
  await generate(
    model,
    {
      prompt: { chunks: [chunk] },
      negativePrompt: { chunks: [chunk] },
      width: side,
      height: side,
      steps: 1,
      guidanceScale: 2,
      guidanceRescale: 0,
      scheduler: 'euler',
      seeds: [0],
      outputFormat: 'png',
    },
    new TextEncoderCache(),
  );
}
