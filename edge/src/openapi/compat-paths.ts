// The compatible APIs: OpenAI's Images API and AUTOMATIC1111's web UI API, so clients built for
// them work unchanged when pointed at this server. Both translate into the native request and
// are held to the same limits.
import type { RequestExamples } from './examples.ts';
import type { Operation, PathItem } from './openapi-types.ts';
import {
  BODY_ERRORS,
  formBody,
  GPU_ERRORS,
  jsonBody,
  jsonResponse,
  responseRef,
  withApiKey,
} from './operation-parts.ts';
import { headerRef } from './response-headers.ts';

/** AUTOMATIC1111 clients may present the key as a Basic-auth password. */
const BEARER_OR_BASIC: Operation['security'] = [{ bearerAuth: [] }, { basicAuth: [] }];
const xCache = { 'X-Cache': headerRef('X-Cache') };
/** `?model=` on the listing routes: LoRAs and embeddings belong to a model. */
const MODEL_QUERY = {
  name: 'model',
  in: 'query',
  required: false,
  schema: { type: 'string' },
  description: 'A model id from GET /v1/models; the default model when absent.',
} as const;

export function compatPaths(examples: RequestExamples): Record<string, PathItem> {
  return {
    '/v1/images/generations': {
      post: withApiKey({
        operationId: 'createOpenAiImages',
        tags: ['OpenAI-compatible'],
        summary: 'Generate images (OpenAI Images API)',
        description:
          'For the `openai` SDKs and other OpenAI clients. OpenAI’s options that do not apply here are accepted and ignored; unknown fields are refused, as OpenAI refuses them.',
        requestBody: jsonBody('OpenAiImageRequest', examples.openai),
        responses: {
          '200': jsonResponse('The images.', 'OpenAiImagesResponse', xCache),
          ...BODY_ERRORS,
          ...GPU_ERRORS,
        },
      }),
    },
    '/v1/images/edits': {
      post: withApiKey({
        operationId: 'editOpenAiImages',
        tags: ['OpenAI-compatible'],
        summary: 'Edit an image (OpenAI image edits)',
        description:
          'Inpainting for the `openai` SDK’s `images.edit`: the prompt repaints the mask’s transparent area, and every pixel outside it comes back unchanged. Without a mask, a PNG with an alpha channel is its own mask, and any other image is redrawn whole (img2img). Of several images the first is edited (Stable Diffusion takes no reference images; `X-Ignored-Images` counts the rest). The mask must be the image’s size.',
        requestBody: formBody('OpenAiEditRequest', examples.openaiEdit),
        responses: {
          '200': jsonResponse('The images.', 'OpenAiImagesResponse', xCache),
          ...BODY_ERRORS,
          ...GPU_ERRORS,
        },
      }),
    },
    '/v1/images/variations': {
      post: withApiKey({
        operationId: 'createOpenAiImageVariations',
        tags: ['OpenAI-compatible'],
        summary: 'Vary an image (OpenAI image variations)',
        description:
          'For the `openai` SDK’s `images.createVariation`: the image redrawn by img2img (strength 0.6 unless `strength` says otherwise) with an empty prompt, or `prompt` if given.',
        requestBody: formBody('OpenAiVariationRequest', examples.openaiVariation),
        responses: {
          '200': jsonResponse('The images.', 'OpenAiImagesResponse', xCache),
          ...BODY_ERRORS,
          ...GPU_ERRORS,
        },
      }),
    },
    '/sdapi/v1/img2img': {
      post: withApiKey({
        operationId: 'a1111Img2Img',
        tags: ['AUTOMATIC1111-compatible'],
        summary: 'Redraw or inpaint an image (AUTOMATIC1111 img2img)',
        description:
          'img2img from `init_images[0]`; with a `mask`, inpainting (white repaints), every pixel outside the mask returned unchanged. Without width and height, the picture’s own size. `inpainting_fill`, `inpaint_full_res` (“only masked”) and `inpainting_mask_invert` mean what they mean in AUTOMATIC1111; fields that do not apply are ignored with a warning in `info`.',
        security: BEARER_OR_BASIC,
        requestBody: jsonBody('Img2ImgRequest', examples.img2img),
        responses: {
          '200': jsonResponse('The images, base64.', 'Txt2ImgResponse', xCache),
          ...BODY_ERRORS,
          ...GPU_ERRORS,
        },
      }),
    },
    '/sdapi/v1/txt2img': {
      post: withApiKey({
        operationId: 'a1111Txt2Img',
        tags: ['AUTOMATIC1111-compatible'],
        summary: 'Generate images (AUTOMATIC1111 txt2img)',
        description:
          'Like AUTOMATIC1111, fields it does not use are accepted and ignored; each one set to anything but off (e.g. `alwayson_scripts`) is named in `info`’s `warnings`. Size, steps and guidance default to the model’s own defaults, not 512×512 and 50 steps. The model: `override_settings.sd_model_checkpoint`, else the one POST /sdapi/v1/options set for this key. GET /sdapi/v1/progress follows the request while it runs.',
        security: BEARER_OR_BASIC,
        requestBody: jsonBody('Txt2ImgRequest', examples.txt2img),
        responses: {
          '200': jsonResponse('The images, base64.', 'Txt2ImgResponse', xCache),
          ...BODY_ERRORS,
          '409': jsonResponse('POST /sdapi/v1/interrupt stopped it (`cancelled`).', 'ErrorBody'),
          ...GPU_ERRORS,
        },
      }),
    },
    '/sdapi/v1/samplers': {
      get: withApiKey({
        operationId: 'a1111Samplers',
        tags: ['AUTOMATIC1111-compatible'],
        summary: 'List the samplers',
        security: BEARER_OR_BASIC,
        responses: { '200': jsonResponse('The samplers.', 'A1111Samplers') },
      }),
    },
    '/sdapi/v1/sd-models': {
      get: withApiKey({
        operationId: 'a1111Models',
        tags: ['AUTOMATIC1111-compatible'],
        summary: 'List the models (checkpoints)',
        security: BEARER_OR_BASIC,
        responses: { '200': jsonResponse('The served models as checkpoints.', 'A1111Models') },
      }),
    },
    '/sdapi/v1/embeddings': {
      get: withApiKey({
        operationId: 'a1111Embeddings',
        tags: ['AUTOMATIC1111-compatible'],
        summary: "List a model's textual-inversion embeddings",
        description:
          'The embeddings of the default model, or of `?model=<id>`: write a name in a prompt and its vectors take its place. They belong to a model: its revision covers them.',
        security: BEARER_OR_BASIC,
        parameters: [MODEL_QUERY],
        responses: {
          '200': jsonResponse('The embeddings.', 'A1111Embeddings'),
          '400': responseRef('InvalidRequest'),
        },
      }),
    },
    '/sdapi/v1/loras': {
      get: withApiKey({
        operationId: 'a1111Loras',
        tags: ['AUTOMATIC1111-compatible'],
        summary: "List a model's LoRAs",
        description:
          'The LoRA files of the default model, or of `?model=<id>`: write one as `<lora:name:weight>` in a prompt. Unlike A1111, LoRAs belong to a model (a LoRA for another architecture cannot apply).',
        security: BEARER_OR_BASIC,
        parameters: [MODEL_QUERY],
        responses: { '200': jsonResponse('The LoRAs.', 'A1111Loras'), '400': responseRef('InvalidRequest') },
      }),
    },
  };
}
