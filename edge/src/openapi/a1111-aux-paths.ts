// The AUTOMATIC1111 routes around txt2img: progress and stopping of the key's running job, the
// per-key checkpoint setting, reading a PNG's parameters, and the schedules a request may name.
import type { RequestExamples } from './examples.ts';
import type { Operation, PathItem } from './openapi-types.ts';
import { BODY_ERRORS, jsonBody, jsonResponse, withApiKey } from './operation-parts.ts';

const BEARER_OR_BASIC: Operation['security'] = [{ bearerAuth: [] }, { basicAuth: [] }];
const TAGS = ['AUTOMATIC1111-compatible'];
const NULL_ANSWER = { type: 'null' } as const;

export function a1111AuxPaths(examples: RequestExamples): Record<string, PathItem> {
  return {
    '/sdapi/v1/progress': {
      get: withApiKey({
        operationId: 'a1111Progress',
        tags: TAGS,
        summary: "The key's running txt2img: step, ETA, live preview",
        description:
          'For the API key’s latest txt2img request while it runs (A1111 runs one job at a time; so does each key here): steps done, time left and the latest preview. The idle state when it runs nothing.',
        security: BEARER_OR_BASIC,
        parameters: [
          {
            name: 'skip_current_image',
            in: 'query',
            required: false,
            schema: { type: 'boolean', default: false },
            description: '`true`: leave `current_image` null (a smaller answer).',
          },
        ],
        responses: { '200': jsonResponse('Where the job is.', 'A1111Progress') },
      }),
    },
    '/sdapi/v1/interrupt': {
      post: withApiKey({
        operationId: 'a1111Interrupt',
        tags: TAGS,
        summary: "Stop the key's running txt2img or img2img",
        description:
          "Its gpu-worker ends the job at the next step and decodes the sampler's latest estimate; the waiting request then answers 200 with those images, as A1111 does. They are not stored (not the request's result) and the job's record ends `interrupted`. A job not on a worker yet is cancelled (its request answers 409 `cancelled`). Nothing running: nothing happens.",
        security: BEARER_OR_BASIC,
        responses: { '200': jsonResponse('{}, as A1111 answers.', 'A1111Interrupted') },
      }),
    },
    '/sdapi/v1/skip': {
      post: withApiKey({
        operationId: 'a1111Skip',
        tags: TAGS,
        summary: "Skip the key's running txt2img or img2img",
        description:
          'A1111 skips the current image of a batch; here a whole request is one gpu-worker job, so skip stops it like interrupt.',
        security: BEARER_OR_BASIC,
        responses: { '200': jsonResponse('null, as A1111 answers.', NULL_ANSWER) },
      }),
    },
    '/sdapi/v1/options': {
      get: withApiKey({
        operationId: 'a1111GetOptions',
        tags: TAGS,
        summary: 'Settings: the checkpoint and a few well-known ones',
        security: BEARER_OR_BASIC,
        responses: { '200': jsonResponse('The settings.', 'A1111Options') },
      }),
      post: withApiKey({
        operationId: 'a1111SetOptions',
        tags: TAGS,
        summary: "Set this key's checkpoint",
        description:
          '`sd_model_checkpoint` picks the model of this key’s later txt2img requests that name none in `override_settings`; an unknown one is a 400 naming it. Other settings are accepted and ignored, as A1111 keeps settings it does not use.',
        security: BEARER_OR_BASIC,
        requestBody: jsonBody('A1111OptionsRequest', examples.options),
        responses: { '200': jsonResponse('null, as A1111 answers.', NULL_ANSWER), ...BODY_ERRORS },
      }),
    },
    '/sdapi/v1/png-info': {
      post: withApiKey({
        operationId: 'a1111PngInfo',
        tags: TAGS,
        summary: 'Read the generation parameters a PNG carries',
        description:
          'The `parameters` text chunk A1111 and this server write into their PNGs, and the PNG’s other text chunks. An image that is not base64 or not a PNG is a 400 naming `image`.',
        security: BEARER_OR_BASIC,
        requestBody: jsonBody('PngInfoRequest', examples.pngInfo),
        responses: { '200': jsonResponse('The parameters.', 'PngInfoResponse'), ...BODY_ERRORS },
      }),
    },
    '/sdapi/v1/schedulers': {
      get: withApiKey({
        operationId: 'a1111Schedulers',
        tags: TAGS,
        summary: 'List the sigma schedules',
        description: 'A1111 1.9 and later: what txt2img’s `scheduler` may name.',
        security: BEARER_OR_BASIC,
        responses: { '200': jsonResponse('The schedules.', 'A1111Schedulers') },
      }),
    },
  };
}
