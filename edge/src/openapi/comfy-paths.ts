// The ComfyUI-compatible API (ComfyUI's server.py routes), for ComfyUI clients and SDKs pointed at
// this server with an API key: a workflow of core nodes runs as one generation through the queued
// job path; its progress arrives on /ws as ComfyUI's messages.
import type { ModelConfig } from '../config/model-config.ts';
import type { Operation, PathItem } from './openapi-types.ts';
import { jsonResponse, responseRef, withApiKey } from './operation-parts.ts';

const TAG = ['ComfyUI-compatible'];
const binary = (mediaType: string) => ({ schema: { type: 'string', contentMediaType: mediaType } });

/** ComfyUI's default workflow in API format, for the model's defaults. */
export function comfyWorkflowExample(model: ModelConfig) {
  return {
    client_id: 'my-client',
    prompt: {
      '3': {
        class_type: 'KSampler',
        inputs: {
          seed: 42,
          steps: model.default_steps,
          cfg: model.default_guidance_scale,
          sampler_name: 'euler',
          scheduler: 'normal',
          denoise: 1,
          model: ['4', 0],
          positive: ['6', 0],
          negative: ['7', 0],
          latent_image: ['5', 0],
        },
      },
      '4': { class_type: 'CheckpointLoaderSimple', inputs: { ckpt_name: model.id } },
      '5': {
        class_type: 'EmptyLatentImage',
        inputs: { width: model.default_width, height: model.default_height, batch_size: 1 },
      },
      '6': {
        class_type: 'CLIPTextEncode',
        inputs: { text: 'a red circle on a blue background', clip: ['4', 1] },
      },
      '7': { class_type: 'CLIPTextEncode', inputs: { text: 'blurry', clip: ['4', 1] } },
      '8': { class_type: 'VAEDecode', inputs: { samples: ['3', 0], vae: ['4', 2] } },
      '9': { class_type: 'SaveImage', inputs: { filename_prefix: 'ComfyUI', images: ['8', 0] } },
    },
  };
}

const query = (name: string, description: string, required = false) =>
  ({ name, in: 'query', required, schema: { type: 'string' }, description }) as const;

function op(operation: Omit<Operation, 'tags'>): Operation {
  return withApiKey({ ...operation, tags: TAG });
}

export function comfyPaths(model: ModelConfig): Record<string, PathItem> {
  return {
    '/prompt': {
      post: op({
        operationId: 'comfyQueuePrompt',
        summary: 'Run a workflow (ComfyUI API format)',
        description:
          'Nodes run here: CheckpointLoaderSimple, LoraLoader (equal strengths), CLIPTextEncode, EmptyLatentImage, KSampler, KSamplerAdvanced (to the last step), VAEEncode, VAEDecode, LoadImage, SaveImage (one). The graph becomes one generation: `ckpt_name` the model id, `sampler_name` and `scheduler` one of our schedulers (karras only with dpmpp_2m), `denoise` below 1 on a VAEEncode latent the img2img strength. Any other node type (SetLatentNoiseMask: inpainting is not here yet), a cycle, a missing link or a wrong type is a 400 in ComfyUI’s shape, and nothing is queued. The body may come without a JSON media type, as ComfyUI clients send it.',
        requestBody: {
          required: true,
          content: {
            'application/json': {
              schema: { $ref: '#/components/schemas/ComfyPromptRequest' },
              example: comfyWorkflowExample(model),
            },
          },
        },
        responses: {
          '200': jsonResponse('Queued.', 'ComfyPromptResponse'),
          '400': jsonResponse('The workflow was refused, by node.', 'ComfyPromptError'),
          '413': responseRef('TooLarge'),
        },
      }),
      get: op({
        operationId: 'comfyPromptStatus',
        summary: 'How many of this key’s runs are queued or running',
        responses: { '200': jsonResponse('The count.', 'ComfyExecInfo') },
      }),
    },
    '/queue': {
      get: op({
        operationId: 'comfyQueue',
        summary: 'This key’s running and pending runs',
        responses: { '200': jsonResponse('The queue.', 'ComfyQueue') },
      }),
      post: op({
        operationId: 'comfyQueueChange',
        summary: 'Drop pending runs',
        description:
          '`{"delete": [prompt ids]}` or `{"clear": true}`; they end in the history as interrupted. A running run is stopped with POST /interrupt.',
        requestBody: {
          required: true,
          content: {
            'application/json': {
              schema: { $ref: '#/components/schemas/ComfyQueueChange' },
              example: { delete: ['0b6f5c1e-2f7d-4a8e-9a43-6c1f2d3e4b5a'] },
            },
          },
        },
        responses: {
          '200': { description: 'Dropped.' },
          '400': responseRef('InvalidRequest'),
          '413': responseRef('TooLarge'),
          '415': responseRef('UnsupportedMediaType'),
        },
      }),
    },
    '/interrupt': {
      post: op({
        operationId: 'comfyInterrupt',
        summary: 'Stop this key’s running run',
        description: 'The gpu-worker drops it at its next step; it ends in the history as interrupted.',
        responses: { '200': { description: 'Asked.' } },
      }),
    },
    '/history': {
      get: op({
        operationId: 'comfyHistory',
        summary: 'This key’s finished runs',
        parameters: [query('max_items', 'The newest this many (at most 200 are kept).')],
        responses: { '200': jsonResponse('By prompt id.', 'ComfyHistory') },
      }),
    },
    '/history/{prompt_id}': {
      get: op({
        operationId: 'comfyHistoryEntry',
        summary: 'One finished run',
        description: '`{}` while it is queued or running, and for another key’s run.',
        parameters: [{ name: 'prompt_id', in: 'path', required: true, schema: { type: 'string' } }],
        responses: { '200': jsonResponse('The run, by its id.', 'ComfyHistory') },
      }),
    },
    '/view': {
      get: op({
        operationId: 'comfyView',
        summary: 'An output or uploaded image',
        parameters: [
          query('filename', 'From a history output or an upload.', true),
          query('type', '`output` (default) or `input`.'),
          query('subfolder', 'Always empty here.'),
        ],
        responses: {
          '200': {
            description: 'The image.',
            content: {
              'image/png': binary('image/png'),
              'image/webp': binary('image/webp'),
              'image/jpeg': binary('image/jpeg'),
            },
          },
          '404': responseRef('NotFound'),
        },
      }),
    },
    '/upload/image': {
      post: op({
        operationId: 'comfyUploadImage',
        summary: 'Upload an image for LoadImage',
        description:
          'Multipart with an `image` file: PNG, JPEG or WebP, at most 8 MiB. Stored by its content; the answered `name` goes into LoadImage’s `image`.',
        requestBody: {
          required: true,
          content: {
            'multipart/form-data': {
              schema: {
                type: 'object',
                properties: { image: { type: 'string', contentMediaType: 'application/octet-stream' } },
                required: ['image'],
              },
            },
          },
        },
        responses: {
          '200': jsonResponse('Stored.', 'ComfyUploadResponse'),
          '400': responseRef('InvalidRequest'),
          '413': responseRef('TooLarge'),
        },
      }),
    },
    '/object_info': {
      get: op({
        operationId: 'comfyObjectInfo',
        summary: 'The nodes run here',
        responses: {
          '200': jsonResponse('By class type, with inputs, choices and outputs.', 'ComfyObjectInfo'),
        },
      }),
    },
    '/object_info/{node}': {
      get: op({
        operationId: 'comfyObjectInfoNode',
        summary: 'One node',
        description: '`{}` for a node type not run here, as ComfyUI answers.',
        parameters: [{ name: 'node', in: 'path', required: true, schema: { type: 'string' } }],
        responses: { '200': jsonResponse('The node, by its class type.', 'ComfyObjectInfo') },
      }),
    },
    '/system_stats': {
      get: op({
        operationId: 'comfySystemStats',
        summary: 'System information (for clients that ask at connect)',
        responses: {
          '200': jsonResponse('No devices: the gpu-workers are behind the edge.', 'ComfySystemStats'),
        },
      }),
    },
    '/ws': {
      get: withApiKey({
        tags: TAG,
        operationId: 'comfyWebsocket',
        summary: 'Progress websocket',
        description:
          'Upgrade to a websocket with `?clientId=` (the `client_id` of your POST /prompt). Messages as ComfyUI sends them: `status` (on connect, with `sid`, and whenever the queue changes), `execution_start`, `execution_cached`, `executing`, `progress` ({value, max}), `executed` (the SaveImage output), `execution_success`, or `execution_error` / `execution_interrupted`. Browsers, which cannot set headers on a websocket, may send the key as `?token=`.',
        parameters: [query('clientId', 'Your client id.'), query('token', 'The API key, for browsers only.')],
        responses: {
          '101': { description: 'Switching to the websocket.' },
          '400': responseRef('InvalidRequest'),
        },
      }),
    },
  };
}
