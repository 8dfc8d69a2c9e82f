// The document's components: every schema (request bodies from the zod schemas the routes
// validate with, answers from ./response-schemas.ts and ./compat-response-schemas.ts), the shared
// error answers and headers, and the two ways to present an API key. Built once per isolate: none
// of it depends on the request or the configuration.
import { PromptRequest as ComfyPromptRequest } from '../comfy/workflow.ts';
import { Interaction } from '../discord/interaction.ts';
import { Img2ImgRequest, Txt2ImgRequest } from '../routes/a1111.ts';
import { A1111OptionsRequest } from '../routes/a1111-options.ts';
import { PngInfoRequest } from '../routes/a1111-png-info.ts';
import { QueueChange } from '../routes/comfy.ts';
import { ImagesRequest } from '../routes/images.ts';
import { OpenAiImageRequest } from '../routes/openai.ts';
import { OpenAiEditFields, OpenAiVariationFields } from '../routes/openai-edits.ts';
import { TokenizeRequest } from '../routes/tokenize.ts';
import {
  A1111Interrupted,
  A1111Options,
  A1111Progress,
  A1111Schedulers,
  PngInfoResponse,
} from './a1111-aux-schemas.ts';
import {
  ComfyExecInfo,
  ComfyHistory,
  ComfyObjectInfo,
  ComfyPromptError,
  ComfyPromptResponse,
  ComfyQueue,
  ComfySystemStats,
  ComfyUploadResponse,
} from './comfy-response-schemas.ts';

import {
  A1111Embeddings,
  A1111Loras,
  A1111Models,
  A1111Samplers,
  DiscordInteractionResponse,
  OpenAiImagesResponse,
  Txt2ImgResponse,
} from './compat-response-schemas.ts';
import { ERROR_RESPONSES } from './error-responses.ts';
import {
  IMAGES_FIELDS,
  IMG2IMG_FIELDS,
  OPENAI_EDIT_FIELDS,
  OPENAI_EDIT_FILES,
  OPENAI_FIELDS,
  OPENAI_VARIATION_FIELDS,
  OPTIONS_FIELDS,
  PNG_INFO_FIELDS,
  PREVIEW_FIELDS,
  PROGRESS_FIELDS,
  TOKENIZE_FIELDS,
  TXT2IMG_FIELDS,
} from './field-notes.ts';
import { JobEvent, JobPreviewEvent, JobProgressEvent, JobQueuedEvent } from './job-events.ts';
import { componentSchemas, describeProperties, withFiles } from './json-schema.ts';
import type { OpenApiDocument } from './openapi-types.ts';
import { RESPONSE_HEADERS } from './response-headers.ts';
import {
  ErrorBody,
  ImagesResponse,
  JobView,
  ModelList,
  TokenizeResponse,
  WebhookSecret,
} from './response-schemas.ts';
import { UsageView } from './usage-schemas.ts';

function schemas() {
  const requests = componentSchemas(
    {
      ImagesRequest,
      OpenAiImageRequest,
      OpenAiEditRequest: OpenAiEditFields,
      OpenAiVariationRequest: OpenAiVariationFields,
      Txt2ImgRequest,
      Img2ImgRequest,
      PngInfoRequest,
      A1111OptionsRequest,
      TokenizeRequest,
      DiscordInteraction: Interaction,
      ComfyPromptRequest,
      ComfyQueueChange: QueueChange,
    },
    'input',
  );
  withFiles(requests.OpenAiEditRequest, OPENAI_EDIT_FILES);
  withFiles(requests.OpenAiVariationRequest, { image: OPENAI_EDIT_FILES.image });
  describeProperties(requests.OpenAiEditRequest, OPENAI_EDIT_FIELDS);
  describeProperties(requests.OpenAiVariationRequest, OPENAI_VARIATION_FIELDS);
  describeProperties(requests.ImagesRequest, IMAGES_FIELDS);
  describeProperties(requests.OpenAiImageRequest, OPENAI_FIELDS);
  describeProperties(requests.Txt2ImgRequest, TXT2IMG_FIELDS);
  describeProperties(requests.Img2ImgRequest, IMG2IMG_FIELDS);
  describeProperties(requests.TokenizeRequest, TOKENIZE_FIELDS);
  describeProperties(requests.PngInfoRequest, PNG_INFO_FIELDS);
  describeProperties(requests.A1111OptionsRequest, OPTIONS_FIELDS);
  const responses = componentSchemas(
    {
      ErrorBody,
      ImagesResponse,
      JobView,
      ModelList,
      TokenizeResponse,
      WebhookSecret,
      UsageView,
      OpenAiImagesResponse,
      Txt2ImgResponse,
      A1111Samplers,
      A1111Embeddings,
      A1111Loras,
      A1111Models,
      A1111Progress,
      A1111Interrupted,
      A1111Options,
      A1111Schedulers,
      PngInfoResponse,
      DiscordInteractionResponse,
      ComfyPromptResponse,
      ComfyPromptError,
      ComfyHistory,
      ComfyQueue,
      ComfyExecInfo,
      ComfyUploadResponse,
      ComfyObjectInfo,
      ComfySystemStats,
      JobEvent,
      JobQueuedEvent,
      JobProgressEvent,
      JobPreviewEvent,
    },
    'output',
  );
  describeProperties(responses.JobProgressEvent, PROGRESS_FIELDS);
  describeProperties(responses.JobPreviewEvent, PREVIEW_FIELDS);
  return { ...requests, ...responses };
}

let built: OpenApiDocument['components'] | undefined;

export function components(): OpenApiDocument['components'] {
  built ??= {
    schemas: schemas(),
    responses: ERROR_RESPONSES,
    headers: RESPONSE_HEADERS,
    parameters: {
      JobId: {
        name: 'id',
        in: 'path',
        required: true,
        description: 'The job id from the 202 answer (its `id`; the `Location` header is its URL).',
        schema: { type: 'string', format: 'uuid' },
        example: '0b6f5c1e-2f7d-4a8e-9a43-6c1f2d3e4b5a',
      },
    },
    securitySchemes: {
      bearerAuth: {
        type: 'http',
        scheme: 'bearer',
        description: 'An API key (`le_…`, from `npm run keys -- create`) as `Authorization: Bearer <key>`.',
      },
      basicAuth: {
        type: 'http',
        scheme: 'basic',
        description:
          'For AUTOMATIC1111 clients, which know only `--api-auth`: any user name, the API key as the password.',
      },
    },
  };
  return built;
}
