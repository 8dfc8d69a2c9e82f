// What the OpenAI- and AUTOMATIC1111-compatible routes answer (edge/src/routes/openai.ts,
// edge/src/routes/a1111.ts), in the shapes those APIs' clients parse; and Discord's interaction
// response, of which the edge sends a few kinds.
import { OUTPUT_FORMATS } from '@latent-edge/shared/protocol/generation-request';
import { z } from 'zod';

const imageFields = {
  revised_prompt: z.string().describe('The prompt as used (here: as sent).'),
  seed: z.int().min(0).describe('Not in OpenAI’s API: the seed that makes this image again.'),
};

export const OpenAiImagesResponse = z.strictObject({
  created: z.int().describe('Unix time, seconds.'),
  data: z.array(
    z.union([
      z.strictObject({ url: z.url(), ...imageFields }),
      z.strictObject({ b64_json: z.base64(), ...imageFields }),
    ]),
  ),
  output_format: z.enum(OUTPUT_FORMATS),
  size: z.string().regex(/^\d+x\d+$/),
});

export const Txt2ImgResponse = z.strictObject({
  images: z
    .array(z.base64())
    .describe('The images, base64, in the requested output format (PNG by default).'),
  parameters: z
    .looseObject({})
    .describe('The request as received, with size, steps, guidance, seed and sampler as used.'),
  info: z.string().describe('JSON, as AUTOMATIC1111 sends it: seeds, infotexts, model hash, …'),
});

export const A1111Samplers = z.array(
  z.strictObject({
    name: z.string().describe('The AUTOMATIC1111 sampler name (`sampler_name`).'),
    aliases: z.array(z.string()).describe("This service's scheduler name for it."),
    options: z.strictObject({}),
  }),
);

export const A1111Models = z.array(
  z.strictObject({
    title: z.string().describe('`<id> [<revision>]`: send it as `override_settings.sd_model_checkpoint`.'),
    model_name: z.string(),
    hash: z.string(),
    sha256: z.null(),
    filename: z.string(),
    config: z.null(),
  }),
);

export const A1111Loras = z.array(
  z.strictObject({
    name: z.string().describe('Write it as `<lora:name:weight>` in the prompt.'),
    alias: z.string(),
    path: z.string().describe("The file in the model folder's `loras/`."),
    metadata: z.strictObject({
      sha256: z.string().describe("The file's SHA-256: part of every cache key of an image made with it."),
      model: z.string().describe('The model it belongs to.'),
    }),
  }),
);

export const A1111Embeddings = z.strictObject({
  loaded: z.record(
    z.string(),
    z.strictObject({
      step: z.null(),
      sd_checkpoint: z.null(),
      sd_checkpoint_name: z.string().describe('The model it belongs to.'),
      shape: z.int().describe('Width of each vector (768 for SD 1.x, the first encoder for SDXL).'),
      vectors: z.int().describe('Prompt tokens it takes.'),
    }),
  ),
  skipped: z
    .record(z.string(), z.never())
    .describe('Always empty: a file the worker cannot serve stops its start.'),
});

export const DiscordInteractionResponse = z
  .looseObject({ type: z.int(), data: z.looseObject({}).optional() })
  .describe('PONG (1) to a PING; otherwise a deferred (5, 6) or immediate (4, 7) response.');
