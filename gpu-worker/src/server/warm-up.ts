// One tiny generation per model before /readyz says ready, so the first real job does not pay
// for onnxruntime's lazy initialization and graph optimization.
import type { DiffusionModel } from '../model/diffusion-model.ts';
import { generate } from '../pipeline/generate.ts';
import { TextEncoderCache } from '../pipeline/text-encoder-cache.ts';

export async function warmUp(model: DiffusionModel): Promise<void> {
  const [chunk, chunk2] = model.textEncoders.map(({ tokenizer }) => ({
    ids: [tokenizer.bos, tokenizer.eos, ...new Array(tokenizer.maxLength - 2).fill(tokenizer.pad)],
    weights: new Array(tokenizer.maxLength).fill(1),
  }));
  const empty = { chunks: [chunk], chunks2: chunk2 && [chunk2] };
  const side = model.folder.sizeMultiple;
  await generate(
    model,
    {
      prompt: empty,
      negativePrompt: empty,
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
