// The AUTOMATIC1111 web UI API (modules/api/api.py), so tools that drive A1111 work unchanged:
// POST /sdapi/v1/txt2img and /img2img (inpainting with `mask`), GET /sdapi/v1/samplers, /schedulers, /sd-models, /loras and /embeddings
// (progress, interrupt, options and png-info are in ./a1111-*.ts). Like A1111 (pydantic, extra
// fields ignored), fields that do not apply here are ignored, each one set named in `info`'s
// `warnings`; sizes, steps and guidance default to the model's own defaults rather than A1111's
// 512×512, 50 steps; a size that a model with aspect buckets (SDXL) does not make lands on its
// nearest bucket.
import { A1111_SAMPLERS, formatInfotext } from '@latent-edge/shared/infotext';
import { type GenerationRequest, MASKED_CONTENT } from '@latent-edge/shared/protocol/generation-request';
import { LIMITS } from '@latent-edge/shared/protocol/limits';
import {
  A1111_SCHEDULES,
  resolveSchedulerName,
  type SchedulerName,
} from '@latent-edge/shared/scheduler-names';
import { type Context, Hono } from 'hono';
import { z } from 'zod';
import { ignoredFieldWarnings } from '../compat/a1111-ignored-fields.ts';
import { jobTimestamp, runA1111Generation } from '../compat/a1111-job.ts';
import { bucketSize } from '../compat/bucket-size.ts';
import { imageOutputSize } from '../compat/image-output-size.ts';
import { nativeRequest, withClientNames } from '../compat/native-request.ts';
import type { AppEnv } from '../env.ts';
import { imageBytes, toBase64 } from '../generation/image-bytes.ts';
import { decodeInitImage } from '../generation/init-image.ts';
import { prepareGeneration } from '../generation/prepare-generation.ts';
import { findModel, servedModels } from '../generation/served-models.ts';
import { ApiError } from '../http/api-error.ts';
import { readJson } from '../http/read-json.ts';

export const a1111 = new Hono<AppEnv>();

export const Txt2ImgRequest = z.looseObject({
  prompt: z.string().default(''),
  negative_prompt: z.string().default(''),
  steps: z.int().optional(),
  cfg_scale: z.number().optional(),
  width: z.int().optional(),
  height: z.int().optional(),
  seed: z.int().default(-1),
  sampler_name: z.string().max(100).optional(),
  sampler_index: z.string().max(100).optional(),
  /** A1111 ≥ 1.9 names the sigma schedule apart from the sampler ("Karras"). */
  scheduler: z.string().max(100).optional(),
  batch_size: z.int().min(1).default(1),
  n_iter: z.int().min(1).default(1),
  override_settings: z.looseObject({ sd_model_checkpoint: z.string().max(200).optional() }).optional(),
});

const CLIENT_NAMES = {
  guidance_scale: 'cfg_scale',
  scheduler: 'sampler_name',
  n: 'batch_size',
  model: 'override_settings.sd_model_checkpoint',
};

function samplerToScheduler(
  sampler: string | undefined,
  schedule: string | undefined,
): SchedulerName | undefined {
  if (sampler === undefined) return undefined;
  const karras = schedule?.toLowerCase() === 'karras';
  const resolved = resolveSchedulerName(karras && !/karras/i.test(sampler) ? `${sampler} Karras` : sampler);
  if (!resolved) {
    throw new ApiError(
      400,
      'invalid_request',
      `sampler_name: ${JSON.stringify(sampler)} is not one of ${A1111_SAMPLERS.map((s) => s.name).join(', ')}`,
      {
        field: 'sampler_name',
      },
    );
  }
  return resolved;
}

/** "tiny-sd [ec9c825edc]" (A1111's checkpoint title) or "tiny-sd" → the model id. */
export function checkpointModel(title: string | undefined): string | undefined {
  return title?.replace(/\s*\[[0-9a-f]+\]$/, '');
}

const HONOURED = new Set(Object.keys(Txt2ImgRequest.shape));
const HONOURED_SETTINGS = new Set(['sd_model_checkpoint']);

/** img2img's part of a request: the picture, how much to redraw, and inpainting's mask. */
export const Img2ImgFields = {
  init_images: z.array(z.string()).min(1),
  denoising_strength: z.number().default(0.75),
  mask: z.string().nullish(),
  mask_blur: z.number().optional(),
  mask_blur_x: z.number().optional(),
  mask_blur_y: z.number().optional(),
  /** 0 fill, 1 original, 2 latent noise, 3 latent nothing (A1111's order). */
  inpainting_fill: z.int().min(0).max(3).default(0),
  inpaint_full_res: z.boolean().default(true),
  inpaint_full_res_padding: z.int().default(0),
  inpainting_mask_invert: z.int().min(0).max(1).default(0),
  /** Always "just resize" here: the picture is fitted (cover, centred) to the output size. */
  resize_mode: z.int().optional(),
};

export const Img2ImgRequest = Txt2ImgRequest.extend(Img2ImgFields);
const HONOURED_IMG2IMG = new Set(Object.keys(Img2ImgRequest.shape));

const IMG2IMG_CLIENT_NAMES = {
  ...CLIENT_NAMES,
  init_image: 'init_images',
  strength: 'denoising_strength',
  mask_blur: 'mask_blur',
  only_masked_padding: 'inpaint_full_res_padding',
};

/** A1111 clients send base64 with or without a data: URL prefix. */
function bareBase64(text: string): string {
  return text.replace(/^data:[^,]*;base64,/, '');
}

a1111.post('/txt2img', async (c) => {
  const body = await readJson(c, Txt2ImgRequest, c.var.config.MAX_BODY_BYTES);
  return answerA1111(c, body, HONOURED, CLIENT_NAMES, {});
});

a1111.post('/img2img', async (c) => {
  const body = await readJson(c, Img2ImgRequest, c.var.config.MAX_BODY_BYTES);
  const init = bareBase64(body.init_images[0]);
  const mask = body.mask ? bareBase64(body.mask) : undefined;
  // A1111 blurs each axis on its own; one Gaussian here, the larger of the two.
  const blur = Math.max(body.mask_blur ?? 4, body.mask_blur_x ?? 0, body.mask_blur_y ?? 0);
  const img2img: Partial<GenerationRequest> = {
    init_image: init,
    strength: body.denoising_strength,
    ...(mask && {
      mask,
      mask_blur: blur,
      masked_content: MASKED_CONTENT[body.inpainting_fill],
      invert_mask: body.inpainting_mask_invert === 1,
      inpaint_only_masked: body.inpaint_full_res,
      only_masked_padding: body.inpaint_full_res_padding,
    }),
  };
  return answerA1111(c, body, HONOURED_IMG2IMG, IMG2IMG_CLIENT_NAMES, img2img);
});

/**
 * A1111 echoes the request as its pydantic model holds it: the fields it knows. Only the fields
 * honoured here go back, so whatever else a client sent (any size, any depth) is not answered
 * after the GPU ran; those are named, shortly, in info's warnings. init_images are not sent back
 * (A1111 answers them as null).
 */
function echoedFields(body: Record<string, unknown>, honoured: ReadonlySet<string>): Record<string, unknown> {
  const echoed: Record<string, unknown> = {};
  for (const field of honoured) {
    if (field !== 'init_images' && field !== 'override_settings' && body[field] !== undefined)
      echoed[field] = body[field];
  }
  const settings = body.override_settings as Record<string, unknown> | undefined;
  const checkpoint = settings?.sd_model_checkpoint;
  if (checkpoint !== undefined) echoed.override_settings = { sd_model_checkpoint: checkpoint };
  return echoed;
}

/** txt2img and img2img: the native request, the job, and A1111's answer with its info. */
async function answerA1111(
  c: Context<AppEnv>,
  body: z.output<typeof Txt2ImgRequest> & { init_images?: string[] },
  honoured: ReadonlySet<string>,
  clientNames: Readonly<Record<string, string>>,
  img2img: Partial<GenerationRequest>,
): Promise<Response> {
  const config = c.var.config;
  const n = body.batch_size * body.n_iter;
  if (n > LIMITS.maxImages) {
    throw new ApiError(
      400,
      'invalid_request',
      `batch_size × n_iter: ${n} images is more than ${LIMITS.maxImages}`,
      {
        field: 'batch_size',
      },
    );
  }
  // The request's own checkpoint, else the one POST /sdapi/v1/options chose for this key.
  const model =
    checkpointModel(body.override_settings?.sd_model_checkpoint) ??
    (await c.env.A1111_SESSION.getByName(c.var.apiKey.id).checkpoint()) ??
    undefined;
  const served = findModel(config, model, CLIENT_NAMES.model);
  const size =
    img2img.init_image && body.width === undefined && body.height === undefined && !img2img.outpaint
      ? imageOutputSize(served, decodeInitImage(img2img.init_image, 'init_images'), 'init_images')
      : bucketSize(served, { width: body.width, height: body.height });
  const request = nativeRequest(
    {
      prompt: body.prompt,
      negative_prompt: body.negative_prompt,
      model,
      ...size,
      steps: body.steps,
      guidance_scale: body.cfg_scale,
      scheduler: samplerToScheduler(body.sampler_name ?? body.sampler_index, body.scheduler),
      seed: body.seed,
      n,
      ...img2img,
    },
    clientNames,
  );
  const outcome = await withClientNames(clientNames, async () =>
    runA1111Generation(
      c,
      await prepareGeneration(config, request),
      img2img.init_image ? 'img2img' : 'txt2img',
    ),
  );
  const g = outcome.generation;
  const seeds = outcome.images.map((image) => image.seed);
  const infotexts = seeds.map((seed) =>
    formatInfotext({
      prompt: g.prompt.text,
      negativePrompt: g.negativePrompt.text,
      steps: g.steps,
      scheduler: g.scheduler,
      guidanceScale: g.guidanceScale,
      seed,
      width: g.width,
      height: g.height,
      model: g.model,
      modelHash: g.revision.slice(0, 10),
      strength: g.strength,
      maskBlur: g.inpaint?.blur,
      loras: g.loras,
      embeddings: g.embeddings,
    }),
  );
  const sampler = A1111_SAMPLERS.find((s) => s.scheduler === g.scheduler)?.name ?? g.scheduler;
  const info = {
    prompt: g.prompt.text,
    all_prompts: seeds.map(() => g.prompt.text),
    negative_prompt: g.negativePrompt.text,
    all_negative_prompts: seeds.map(() => g.negativePrompt.text),
    seed: g.seed,
    all_seeds: seeds,
    subseed: -1,
    all_subseeds: seeds.map(() => -1),
    subseed_strength: 0,
    width: g.width,
    height: g.height,
    sampler_name: sampler,
    cfg_scale: g.guidanceScale,
    steps: g.steps,
    batch_size: body.batch_size,
    restore_faces: false,
    sd_model_name: g.model,
    sd_model_hash: g.revision.slice(0, 10),
    seed_resize_from_w: -1,
    seed_resize_from_h: -1,
    denoising_strength: g.strength ?? null,
    extra_generation_params: g.inpaint ? { 'Mask blur': g.inpaint.blur } : {},
    index_of_first_image: 0,
    infotexts,
    styles: [],
    job_timestamp: jobTimestamp(new Date()),
    clip_skip: 1,
    is_using_inpainting_conditioning: false,
    version: 'latent-edge',
    warnings: ignoredFieldWarnings(body, honoured, HONOURED_SETTINGS),
  };
  const images = await Promise.all(
    outcome.images.map(async (image) => toBase64(await imageBytes(c.env.IMAGES, image))),
  );
  c.header('X-Cache', outcome.cache);
  return c.json({
    images,
    parameters: {
      ...echoedFields(body, honoured),
      ...(body.init_images && { init_images: null, mask: null }),
      steps: g.steps,
      cfg_scale: g.guidanceScale,
      width: g.width,
      height: g.height,
      seed: g.seed,
      sampler_name: sampler,
    },
    info: JSON.stringify(info),
  });
}

a1111.get('/samplers', (c) =>
  c.json(A1111_SAMPLERS.map((s) => ({ name: s.name, aliases: [s.scheduler], options: {} }))),
);

// A1111 ≥ 1.9 (modules/api/api.py `get_schedulers`): the sigma schedules `scheduler` may name.
a1111.get('/schedulers', (c) => c.json(A1111_SCHEDULES));

// A1111's Lora extension (extensions-builtin/Lora/scripts/lora_script.py, `get_loras`): one entry
// per file. A1111 lists every file whatever the checkpoint; here LoRAs belong to a model, so this
// lists the default model's, or `?model=`'s.
a1111.get('/loras', (c) => {
  const model = findModel(c.var.config, c.req.query('model'));
  return c.json(
    model.loras.map((l) => ({
      name: l.name,
      alias: l.name,
      path: `loras/${l.name}.safetensors`,
      metadata: { sha256: l.sha256, model: model.config.id },
    })),
  );
});

// A1111's GET /sdapi/v1/embeddings (modules/api/api.py `get_embeddings`): the loaded embeddings
// by name with their vector width (`shape`) and count. Like LoRAs, embeddings belong to a model:
// the default one, or `?model=`'s.
a1111.get('/embeddings', (c) => {
  const model = findModel(c.var.config, c.req.query('model'));
  const loaded = Object.fromEntries(
    model.embeddings.map((e) => [
      e.name,
      {
        step: null,
        sd_checkpoint: null,
        sd_checkpoint_name: model.config.id,
        shape: e.width,
        vectors: e.vectors,
      },
    ]),
  );
  return c.json({ loaded, skipped: {} });
});

a1111.get('/sd-models', (c) =>
  c.json(
    servedModels(c.var.config).map(({ config: m, revision }) => ({
      title: `${m.id} [${revision.slice(0, 10)}]`,
      model_name: m.id,
      hash: revision.slice(0, 10),
      sha256: null,
      filename: m.id,
      config: null,
    })),
  ),
);
