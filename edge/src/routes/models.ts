// GET /v1/models: the served models with their revision, limits, defaults and LoRAs, so a client
// can build a valid request without trial and error.
import { LIMITS } from '@latent-edge/shared/protocol/limits';
import { SCHEDULER_NAMES } from '@latent-edge/shared/scheduler-names';
import { Hono } from 'hono';
import type { AppEnv } from '../env.ts';
import { servedModels } from '../generation/served-models.ts';

export const models = new Hono<AppEnv>();

models.get('/', (c) =>
  c.json({
    object: 'list',
    data: servedModels(c.var.config).map(
      ({ config: m, revision, tokenizer, tokenizer2, loras, embeddings }) => ({
        id: m.id,
        object: 'model',
        revision,
        family: m.family,
        sizes: m.sizes ?? null,
        text_encoders: tokenizer2 ? 2 : 1,
        defaults: {
          width: m.default_width,
          height: m.default_height,
          steps: m.default_steps,
          guidance_scale: m.default_guidance_scale,
          scheduler: m.default_scheduler,
        },
        limits: {
          max_width: m.max_width,
          max_height: m.max_height,
          size_multiple: m.size_multiple,
          max_steps: m.max_steps,
          max_images: LIMITS.maxImages,
          max_prompt_tokens: LIMITS.maxPromptChunks * (tokenizer().maxLength - 2),
          max_loras: LIMITS.maxLoras,
          max_lora_weight: LIMITS.maxLoraWeight,
        },
        schedulers: SCHEDULER_NAMES,
        // Prompt `<lora:name:weight>` or the `loras` field; sha256 identifies the file in cache keys.
        loras: loras.map((l) => ({ name: l.name, sha256: l.sha256, text_encoder: l.textEncoder })),
        // Textual-inversion embeddings: write the name in a prompt; it takes `vectors` tokens.
        embeddings: embeddings.map((e) => ({ name: e.name, sha256: e.sha256, vectors: e.vectors })),
      }),
    ),
  }),
);
