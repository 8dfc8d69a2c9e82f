// The OpenAPI 3.1 document of this edge: the routes in edge/src/index.ts, their request schemas
// (the zod schemas they validate with), answers, errors and headers. The server URL and the
// examples (made with the default model's defaults) come from this deployment.
import { version } from '../../package.json';
import type { ModelConfig } from '../config/model-config.ts';
import { a1111AuxPaths } from './a1111-aux-paths.ts';
import { comfyPaths } from './comfy-paths.ts';
import { compatPaths } from './compat-paths.ts';
import { components } from './components.ts';
import { requestExamples } from './examples.ts';
import { nativePaths } from './native-paths.ts';
import type { OpenApiDocument } from './openapi-types.ts';
import { OPERATOR_TAG, operatorPaths } from './operator-paths.ts';
import { publicPaths } from './public-paths.ts';
import { usagePaths } from './usage-paths.ts';

export interface DocumentContext {
  /** The public origin: PUBLIC_URL, or the origin the request came to. */
  serverUrl: string;
  /** The default model, whose defaults fill the examples. */
  model: ModelConfig;
}

const DESCRIPTION = `Text-to-image with Stable Diffusion: a native API, and OpenAI- and AUTOMATIC1111-compatible ones for existing clients.

Send an API key as \`Authorization: Bearer <key>\` to every route but the public ones (images, share pages, Discord, this reference). Each key has a request limit per window: answers carry \`RateLimit-Limit\`, \`RateLimit-Remaining\`, \`RateLimit-Reset\` and \`RateLimit-Policy\`, and over the limit a 429 says when to retry in \`Retry-After\`.

Every error is JSON, \`{"error": {"code", "message", "field"?}}\` (the ErrorBody schema), with its status: 400 invalid input, 401 no or bad key, 404, 409, 413 too large, 415 not JSON, 429 over the limit, 502/503/504 when the gpu-workers refuse, are saturated (with \`Retry-After\`) or time out.

Identical requests are answered from a result cache: the key covers the model and its revision, the prompt's token ids and weights, every parameter and the seed. \`X-Cache\` says HIT, MISS or PARTIAL.`;

const TAGS = [
  { name: 'Images', description: 'Generate images with the native API.' },
  { name: 'Jobs', description: 'Asynchronous generations: state, cancelling, progress.' },
  { name: 'Models', description: 'What is served, and how a prompt tokenizes.' },
  { name: 'OpenAI-compatible', description: 'OpenAI’s Images API.' },
  { name: 'AUTOMATIC1111-compatible', description: 'The AUTOMATIC1111 web UI API (`/sdapi/v1`).' },
  {
    name: 'ComfyUI-compatible',
    description: 'The ComfyUI server API: workflows of core nodes, history, uploads, the /ws websocket.',
  },
  { name: 'Images and share pages', description: 'Public: anyone with the link.' },
  { name: 'Discord', description: 'The `/imagine` bot.' },
  { name: 'Reference', description: 'This document, its page, and the playground.' },
  OPERATOR_TAG,
];

export function openApiDocument(context: DocumentContext): OpenApiDocument {
  const examples = requestExamples(context.model);
  return {
    openapi: '3.1.1',
    info: {
      title: 'latent-edge',
      version,
      summary: 'Self-hosted Stable Diffusion',
      description: DESCRIPTION,
    },
    servers: [{ url: context.serverUrl }],
    tags: TAGS,
    security: [{ bearerAuth: [] }],
    paths: {
      ...nativePaths(examples),
      ...compatPaths(examples),
      ...a1111AuxPaths(examples),
      ...comfyPaths(context.model),
      ...publicPaths(examples),
      ...operatorPaths(),
      ...usagePaths(),
    },
    components: components(),
  };
}
