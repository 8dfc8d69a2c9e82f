// The native API's answer for a finished generation: where each image lives, its seed and
// whether it came from the cache, how the prompts tokenized, and every parameter actually used
// (defaults filled in), so a client can reproduce or vary the request.
import type { GenerationOutcome } from './run-generation.ts';

export interface ImagesResponse {
  id: string;
  model: string;
  revision: string;
  images: {
    url: string;
    share_url: string;
    seed: number;
    width: number;
    height: number;
    content_type: string;
    cached: boolean;
  }[];
  seeds: number[];
  tokens: {
    prompt: TokenReport;
    negative_prompt: TokenReport;
  };
  parameters: Record<string, string | number | boolean | Record<string, number>>;
}

interface TokenReport {
  count: number;
  /** The second text encoder's count (SDXL), when it has one. */
  count_2?: number;
  limit: number;
  chunks: number;
  /** Always false: a prompt past the limit is refused (400), never silently cut. */
  truncated: boolean;
}

export function imagesResponse(outcome: GenerationOutcome, baseUrl: string): ImagesResponse {
  const g = outcome.generation;
  const tokens = (prompt: typeof g.prompt): TokenReport => ({
    count: prompt.tokenCount,
    ...(prompt.tokenCount2 !== undefined && { count_2: prompt.tokenCount2 }),
    limit: g.tokenLimit,
    chunks: prompt.chunks.length,
    truncated: false,
  });
  return {
    id: outcome.jobId,
    model: g.model,
    revision: g.revision,
    images: outcome.images.map((image) => ({
      url: `${baseUrl}/i/${image.objectKey}`,
      share_url: `${baseUrl}/p/${image.key}`,
      seed: image.seed,
      width: image.width,
      height: image.height,
      content_type: image.contentType,
      cached: image.cached,
    })),
    seeds: outcome.images.map((image) => image.seed),
    tokens: { prompt: tokens(g.prompt), negative_prompt: tokens(g.negativePrompt) },
    parameters: {
      prompt: g.prompt.text,
      negative_prompt: g.negativePrompt.text,
      width: g.width,
      height: g.height,
      steps: g.steps,
      guidance_scale: g.guidanceScale,
      guidance_rescale: g.guidanceRescale,
      scheduler: g.scheduler,
      seed: g.seed,
      n: g.images.length,
      output_format: g.outputFormat,
      ...(g.strength !== undefined ? { strength: g.strength } : {}),
      ...(g.outpaint && {
        outpaint: {
          left: g.outpaint.left,
          right: g.outpaint.right,
          top: g.outpaint.top,
          bottom: g.outpaint.bottom,
        },
        mask_blur: g.outpaint.blur,
        masked_content: g.outpaint.maskedContent,
      }),
      ...(g.inpaint && {
        mask_source: g.inpaint.source,
        invert_mask: g.inpaint.invert,
        mask_blur: g.inpaint.blur,
        masked_content: g.inpaint.maskedContent,
        inpaint_only_masked: g.inpaint.onlyMasked,
        only_masked_padding: g.inpaint.onlyMaskedPadding,
      }),
    },
  };
}
