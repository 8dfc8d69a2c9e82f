// Descriptions of the request fields, for the document. The request schemas live in shared/ and
// the route files, where a comment says why a rule is what it is; what a client needs to know
// about each field is said here, once, and attached to the generated schema by name (a name the
// schema lacks throws, so these cannot drift onto fields that no longer exist).
import { A1111_SAMPLER_ALIASES, SCHEDULER_NAMES } from '@latent-edge/shared/scheduler-names';

const schedulers = `One of ${SCHEDULER_NAMES.join(', ')}, or an AUTOMATIC1111 sampler name (${Object.keys(A1111_SAMPLER_ALIASES).join(', ')}); case-insensitive. The model's default when absent.`;
const modelDefault = "The model's default when absent (GET /v1/models).";

export const GENERATION_FIELDS: Readonly<Record<string, string>> = {
  prompt:
    'What to draw. AUTOMATIC1111 emphasis works: `(word:1.5)`, `(word)`, `[word]`, and `<lora:name:weight>` applies one of the model’s LoRAs (the tag is taken out of the text and costs no tokens). Long prompts are encoded in 75-token chunks, three at most; POST /v1/tokenize shows the count.',
  negative_prompt: 'What to steer away from: the prompt guidance pushes against.',
  model: 'A served model id (GET /v1/models); the first configured model when absent.',
  width: `Pixels; a multiple of 8, and of the model's \`size_multiple\`, up to its \`max_width\`. ${modelDefault}`,
  height: `Pixels; a multiple of 8, and of the model's \`size_multiple\`, up to its \`max_height\`. ${modelDefault}`,
  steps: `Denoising steps, up to the model's \`max_steps\`. ${modelDefault}`,
  guidance_scale: `Classifier-free guidance scale (Ho & Salimans 2022); 1 or less turns guidance off. ${modelDefault}`,
  guidance_rescale:
    "Rescales the guided prediction toward the conditional one's spread (Lin et al. 2023, §3.4); 0: off.",
  scheduler: schedulers,
  seed: 'Image i of a request uses seed + i; -1: a random seed. The answer always says the seed used. The same seed gives the same noise as PyTorch’s CPU generator, so as diffusers and AUTOMATIC1111 (CPU noise).',
  n: 'Images to make, with seeds seed, seed + 1, …',
  output_format: 'The image format.',
  init_image: 'img2img: the starting image, base64 PNG, JPEG or WebP, at most 8 MiB decoded.',
  strength: 'img2img: how much of the starting image to repaint, 1 being all of it. 0.75 when absent.',
  mask: 'Inpainting: an image of init_image’s size, base64; only its area is repainted and every pixel outside it is returned unchanged. Outpainting is the same with a larger canvas whose new area the mask covers.',
  mask_source:
    '`luminance`: white repaints, black keeps (AUTOMATIC1111, diffusers); `alpha`: transparent repaints (OpenAI; the init image itself can be its mask).',
  invert_mask: 'Repaint what the mask keeps instead.',
  outpaint:
    'Outpainting: pixels to add on each side of init_image ({left, right, top, bottom}); the new border is inpainted with mask_blur and masked_content. The image itself is kept exactly but for the mask_blur pixels along the new border, where it blends into the new area (mask_blur 0 keeps every pixel). width and height default to the image’s size plus these; send no mask with it.',
  inpaint_only_masked:
    'Inpaint only the mask’s box (plus only_masked_padding pixels, widened to the output’s aspect), upscaled to the output size, then scaled back and pasted in: small areas get every pixel of the model (AUTOMATIC1111’s “only masked”, inpaint_full_res).',
  only_masked_padding:
    'Pixels around the mask’s box that inpaint_only_masked keeps for context; 32 when absent.',
  mask_blur:
    'Gaussian sigma, in pixels, that softens the mask’s edge; 0: a hard edge. 4 when absent (AUTOMATIC1111’s default).',
  masked_content:
    'What the masked area starts from: `original` (the init image, default), `fill` (the mean colour around it), `latent_noise` or `latent_nothing` (AUTOMATIC1111’s inpainting_fill).',
  loras:
    'LoRAs to apply, by name (GET /v1/models lists each model’s), with a weight (1 when absent), as `<lora:name:weight>` in the prompt does; weights of one name add up, 0 leaves it out. An unknown name is a 400 `unknown_lora`.',
};

export const IMAGES_FIELDS: Readonly<Record<string, string>> = {
  ...GENERATION_FIELDS,
  webhook:
    'An https URL to POST the finished job to, signed as Standard Webhooks describes (the key’s secret: GET /v1/webhook-secret). Makes the request asynchronous (202). Needs webhooks enabled on the server.',
  webhook_events:
    'What the webhook is told: `completed` (always: how the job ended) and, with `progress`, where the job is while it runs, at most once a second.',
  preview_every:
    'Asynchronous jobs: a small preview on the job’s event stream every this many steps; 0: none.',
};

const notOpenAi = 'Not in OpenAI’s API: as in POST /v1/images.';
const ignored = 'Accepted for compatibility and ignored.';

export const OPENAI_FIELDS: Readonly<Record<string, string>> = {
  prompt: GENERATION_FIELDS.prompt,
  model: `${GENERATION_FIELDS.model} OpenAI model names (dall-e-2, dall-e-3, gpt-image-*) mean the default model.`,
  n: GENERATION_FIELDS.n,
  size: '`<width>x<height>` in pixels, or `auto` for the model’s default size.',
  response_format: '`url`: links to the images; `b64_json`: the images themselves, base64.',
  output_format: GENERATION_FIELDS.output_format,
  quality: ignored,
  style: ignored,
  user: ignored,
  background: ignored,
  moderation: ignored,
  output_compression: ignored,
  negative_prompt: notOpenAi,
  steps: notOpenAi,
  guidance_scale: notOpenAi,
  scheduler: notOpenAi,
  seed: notOpenAi,
};

export const OPENAI_EDIT_FILES = {
  image: {
    description:
      'The picture to edit (PNG, JPEG or WebP; also sent as `image[]`). With no mask, a PNG’s own transparency marks what to repaint.',
    required: true,
  },
  mask: {
    description: 'A PNG of the image’s size: transparent pixels are repainted, opaque ones kept exactly.',
    required: false,
  },
} as const;

const { style: _noStyle, ...OPENAI_FORM_FIELDS } = OPENAI_FIELDS;

export const OPENAI_EDIT_FIELDS: Readonly<Record<string, string>> = {
  ...OPENAI_FORM_FIELDS,
  prompt: 'What to draw in the masked area, with emphasis syntax.',
  size: '`<width>x<height>` in pixels, or `auto` (the default): the image’s own size when the model makes it.',
  input_fidelity: ignored,
  strength: `${notOpenAi} How much to repaint: 1 for a masked edit, 0.75 for a whole-image one, when absent.`,
  mask_blur: `${notOpenAi} Gaussian sigma of the mask’s edge in pixels; 4 when absent, 0 for a hard edge.`,
};

export const OPENAI_VARIATION_FIELDS: Readonly<Record<string, string>> = {
  ...OPENAI_FORM_FIELDS,
  prompt: `${notOpenAi} A prompt to steer the variations; none when absent.`,
  size: OPENAI_EDIT_FIELDS.size,
  input_fidelity: ignored,
  strength: `${notOpenAi} How much of the picture to redraw; 0.6 when absent.`,
};

export const TXT2IMG_FIELDS: Readonly<Record<string, string>> = {
  prompt: GENERATION_FIELDS.prompt,
  negative_prompt: GENERATION_FIELDS.negative_prompt,
  steps: GENERATION_FIELDS.steps,
  cfg_scale: GENERATION_FIELDS.guidance_scale,
  width: GENERATION_FIELDS.width,
  height: GENERATION_FIELDS.height,
  seed: GENERATION_FIELDS.seed,
  sampler_name: `An AUTOMATIC1111 sampler (GET /sdapi/v1/samplers). ${schedulers}`,
  sampler_index: 'Older clients’ name for `sampler_name`.',
  scheduler: 'The sigma schedule, as AUTOMATIC1111 1.9 and later name it: `Karras` picks the Karras variant.',
  batch_size: 'Images per batch; batch_size × n_iter images in all, 8 at most.',
  n_iter: 'Batches.',
  override_settings:
    'Only `sd_model_checkpoint` is read: a model id, or its title from GET /sdapi/v1/sd-models. Without it, the checkpoint POST /sdapi/v1/options set for this key, else the default model. Other settings are ignored, each with a warning in `info`.',
};

export const IMG2IMG_FIELDS: Readonly<Record<string, string>> = {
  ...TXT2IMG_FIELDS,
  width: `${GENERATION_FIELDS.width} Without width and height: the picture’s own size (rounded to what the model makes).`,
  init_images: 'The picture, base64 PNG, JPEG or WebP (a data: URL too); only the first is used.',
  denoising_strength: 'How much of the picture to redraw, 1 being all of it; 0.75 when absent.',
  mask: 'Inpainting: an image of the picture’s size, base64; white repaints, black keeps exactly.',
  mask_blur: 'Gaussian sigma of the mask’s edge in pixels; 4 when absent.',
  mask_blur_x:
    'AUTOMATIC1111 blurs each axis apart; here one blur, the largest of mask_blur, mask_blur_x and mask_blur_y.',
  mask_blur_y: 'See mask_blur_x.',
  inpainting_fill:
    'What the masked area starts from: 0 fill (the default), 1 original, 2 latent noise, 3 latent nothing.',
  inpaint_full_res:
    '“Only masked”: inpaint the mask’s box at full resolution and paste it back (the default, as in AUTOMATIC1111’s API).',
  inpaint_full_res_padding: 'Pixels kept around the mask’s box for “only masked”; 0 when absent.',
  inpainting_mask_invert: '1: repaint what the mask keeps instead.',
  resize_mode: 'Ignored: the picture is always fitted (cover, centred) to the output size.',
};

export const PNG_INFO_FIELDS: Readonly<Record<string, string>> = {
  image: 'A PNG, base64, or as a `data:image/png;base64,` URL.',
};

export const OPTIONS_FIELDS: Readonly<Record<string, string>> = {
  sd_model_checkpoint:
    'A model id, or its title from GET /sdapi/v1/sd-models: the model of this key’s later txt2img requests that name none. Other settings are accepted and ignored.',
};

export const TOKENIZE_FIELDS: Readonly<Record<string, string>> = {
  prompt: 'The prompt, with emphasis syntax.',
  model: 'A served model id; the first configured model when absent.',
};

export const PROGRESS_FIELDS: Readonly<Record<string, string>> = {
  step: 'Denoising steps done, of `steps`.',
  steps: 'Denoising steps in all.',
  elapsed_ms: 'Since the job started running.',
  eta_ms: 'Denoising time left at the pace so far (decoding not included).',
};

export const PREVIEW_FIELDS: Readonly<Record<string, string>> = {
  image: 'The current estimate of the final image: a small WebP, as a `data:` URL.',
  width: 'Of the preview, in pixels.',
  height: 'Of the preview, in pixels.',
};
