// The request examples of the document, filled with the default model's own defaults so that
// every example is a request this server accepts as it is (edge/test/openapi.test.ts sends them).
import type { ModelConfig } from '../config/model-config.ts';

/** A plain 64 × 64 PNG, and a mask for it (white square in the middle), base64. */
const BLUE_64 =
  'iVBORw0KGgoAAAANSUhEUgAAAEAAAABACAMAAACdt4HsAAAAA1BMVEUwUMCizkeuAAAACXBIWXMAAAPoAAAD6AG1e1JrAAAAG0lEQVRYw+3BgQAAAADDoPlT3+AEVQEAAAB8AxBAAAEZszF2AAAAAElFTkSuQmCC';
const SQUARE_MASK_64 =
  'iVBORw0KGgoAAAANSUhEUgAAAEAAAABACAIAAAAlC+aJAAAACXBIWXMAAAPoAAAD6AG1e1JrAAAAPUlEQVRo3u3PQQkAAAgEsOtfWiv4EUS2BksAAACGapmAgICAgICAgICAgICAgICAgICAgICAwL0AAADwRgOWwfSmZSk1ggAAAABJRU5ErkJggg==';

export interface RequestExamples {
  images: Record<string, unknown>;
  openai: Record<string, unknown>;
  /** Multipart: a value starting with "@" is a file, as curl's -F writes it. */
  openaiEdit: Record<string, unknown>;
  openaiVariation: Record<string, unknown>;
  txt2img: Record<string, unknown>;
  img2img: Record<string, unknown>;
  pngInfo: Record<string, unknown>;
  options: Record<string, unknown>;
  tokenize: Record<string, unknown>;
  discord: Record<string, unknown>;
}

const PROMPT = 'a lighthouse on a cliff at dusk, (oil painting:1.2)';
const NEGATIVE = 'blurry, low contrast';
/** 1×1 grey, with a `parameters` chunk: "a lighthouse", Steps 20, Euler a, CFG scale 7.5, Seed 42, Size 64x64. */
const PNG_WITH_PARAMETERS =
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAAWnRFWHRwYXJhbWV0ZXJzAGEgbGlnaHRob3VzZQpTdGVwczogMjAsIFNhbXBsZXI6IEV1bGVyIGEsIENGRyBzY2FsZTogNy41LCBTZWVkOiA0MiwgU2l6ZTogNjR4NjQOpcGdAAAADElEQVR4nGNoaGgAAAMEAYFL09IQAAAAAElFTkSuQmCC';

export function requestExamples(model: ModelConfig): RequestExamples {
  return {
    images: {
      prompt: PROMPT,
      negative_prompt: NEGATIVE,
      model: model.id,
      width: model.default_width,
      height: model.default_height,
      steps: model.default_steps,
      guidance_scale: model.default_guidance_scale,
      scheduler: model.default_scheduler,
      seed: 42,
      n: 1,
      output_format: 'png',
    },
    openai: {
      prompt: PROMPT,
      model: model.id,
      n: 1,
      size: `${model.default_width}x${model.default_height}`,
      response_format: 'url',
      seed: 42,
    },
    openaiEdit: {
      image: '@image.png',
      mask: '@mask.png',
      prompt: PROMPT,
      n: 1,
      size: 'auto',
      response_format: 'url',
    },
    openaiVariation: { image: '@image.png', n: 1, size: 'auto', response_format: 'url' },
    txt2img: {
      prompt: PROMPT,
      negative_prompt: NEGATIVE,
      steps: model.default_steps,
      cfg_scale: model.default_guidance_scale,
      width: model.default_width,
      height: model.default_height,
      seed: 42,
      sampler_name: 'Euler a',
      batch_size: 1,
    },
    img2img: {
      prompt: PROMPT,
      init_images: [BLUE_64],
      mask: SQUARE_MASK_64,
      denoising_strength: 0.75,
      mask_blur: 4,
      inpainting_fill: 1,
      inpaint_full_res: false,
      steps: model.default_steps,
      seed: 42,
      sampler_name: 'Euler a',
    },
    // A 1×1 PNG with a `parameters` chunk, as A1111 writes it.
    pngInfo: { image: PNG_WITH_PARAMETERS },
    options: { sd_model_checkpoint: model.id },
    tokenize: { prompt: PROMPT, model: model.id },
    discord: {
      id: '1250000000000000001',
      application_id: '1250000000000000000',
      type: 1,
      token: 'aW50ZXJhY3Rpb24',
    },
  };
}
