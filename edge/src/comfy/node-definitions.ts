// The ComfyUI core nodes this edge runs, declared once: their inputs (links by type, widgets with
// their ranges and choices) and outputs, as ComfyUI's nodes.py declares them (INPUT_TYPES,
// RETURN_TYPES). The graph check validates against these and GET /object_info describes them, so
// what a client is told is exactly what is accepted. Choices that depend on the configuration
// (checkpoints, LoRAs) come from the served models.
import { LIMITS } from '@latent-edge/shared/protocol/limits';
import { COMFY_SAMPLERS, COMFY_SCHEDULERS } from '@latent-edge/shared/scheduler-names';
import type { EdgeConfig } from '../config/edge-config.ts';
import { servedModels } from '../generation/served-models.ts';

/** Values that travel along links (ComfyUI's IO types). */
export type LinkType = 'MODEL' | 'CLIP' | 'VAE' | 'CONDITIONING' | 'LATENT' | 'IMAGE' | 'MASK';

export type InputSpec =
  | { kind: 'link'; type: LinkType }
  | { kind: 'int'; default: number; min: number; max: number }
  | { kind: 'float'; default: number; min: number; max: number; step: number }
  | { kind: 'string'; default: string; multiline?: boolean }
  | { kind: 'choice'; values: readonly string[]; default?: string }
  /** LoadImage's file: a name POST /upload/image answered (there is no input folder to list). */
  | { kind: 'image_name' };

export interface NodeDefinition {
  display: string;
  category: string;
  description: string;
  required: Record<string, InputSpec>;
  outputs: readonly { type: LinkType; name: string }[];
  /** Ends a graph: ComfyUI runs only what output nodes need. */
  outputNode: boolean;
}

/** ComfyUI's seed range is 0 … 2^64 − 1; ours is what a JSON number carries exactly. */
const SEED = { kind: 'int', default: 0, min: 0, max: LIMITS.maxSeed } as const;
const STEPS = { kind: 'int', default: 20, min: 1, max: LIMITS.maxSteps } as const;
const CFG = { kind: 'float', default: 8, min: 0, max: LIMITS.maxGuidanceScale, step: 0.1 } as const;
const SIDE = { kind: 'int', default: 512, min: LIMITS.minSize, max: LIMITS.maxSize } as const;
const SAMPLER = { kind: 'choice', values: Object.keys(COMFY_SAMPLERS) } as const;
const SCHEDULER = { kind: 'choice', values: COMFY_SCHEDULERS } as const;
const link = (type: LinkType) => ({ kind: 'link', type }) as const;

/** Known to ComfyUI's core, not run here yet: a graph using one gets a 400 saying so. */
export const NOT_YET: Readonly<Record<string, string>> = {};

export function nodeDefinitions(config: EdgeConfig): Record<string, NodeDefinition> {
  const models = servedModels(config);
  const checkpoints = models.map((m) => m.config.id);
  const loras = [...new Set(models.flatMap((m) => m.loras.map((l) => `${l.name}.safetensors`)))].sort();
  return {
    CheckpointLoaderSimple: {
      display: 'Load Checkpoint',
      category: 'loaders',
      description: 'A served model, by its id (GET /v1/models).',
      required: { ckpt_name: { kind: 'choice', values: checkpoints } },
      outputs: [
        { type: 'MODEL', name: 'MODEL' },
        { type: 'CLIP', name: 'CLIP' },
        { type: 'VAE', name: 'VAE' },
      ],
      outputNode: false,
    },
    LoraLoader: {
      display: 'Load LoRA',
      category: 'loaders',
      description: "One of the checkpoint's LoRAs; strength_model and strength_clip must be equal.",
      required: {
        model: link('MODEL'),
        clip: link('CLIP'),
        lora_name: { kind: 'choice', values: loras },
        strength_model: {
          kind: 'float',
          default: 1,
          min: -LIMITS.maxLoraWeight,
          max: LIMITS.maxLoraWeight,
          step: 0.01,
        },
        strength_clip: {
          kind: 'float',
          default: 1,
          min: -LIMITS.maxLoraWeight,
          max: LIMITS.maxLoraWeight,
          step: 0.01,
        },
      },
      outputs: [
        { type: 'MODEL', name: 'MODEL' },
        { type: 'CLIP', name: 'CLIP' },
      ],
      outputNode: false,
    },
    CLIPTextEncode: {
      display: 'CLIP Text Encode (Prompt)',
      category: 'conditioning',
      description: 'A prompt, in our prompt syntax (weights, <lora:…> tags, embeddings).',
      required: { text: { kind: 'string', default: '', multiline: true }, clip: link('CLIP') },
      outputs: [{ type: 'CONDITIONING', name: 'CONDITIONING' }],
      outputNode: false,
    },
    EmptyLatentImage: {
      display: 'Empty Latent Image',
      category: 'latent',
      description: 'The size and batch of a txt2img generation.',
      required: {
        width: SIDE,
        height: SIDE,
        batch_size: { kind: 'int', default: 1, min: 1, max: LIMITS.maxImages },
      },
      outputs: [{ type: 'LATENT', name: 'LATENT' }],
      outputNode: false,
    },
    KSampler: {
      display: 'KSampler',
      category: 'sampling',
      description: 'The denoise loop; denoise below 1 on an encoded image is img2img strength.',
      required: {
        model: link('MODEL'),
        seed: SEED,
        steps: STEPS,
        cfg: CFG,
        sampler_name: SAMPLER,
        scheduler: SCHEDULER,
        positive: link('CONDITIONING'),
        negative: link('CONDITIONING'),
        latent_image: link('LATENT'),
        denoise: { kind: 'float', default: 1, min: 0, max: 1, step: 0.01 },
      },
      outputs: [{ type: 'LATENT', name: 'LATENT' }],
      outputNode: false,
    },
    KSamplerAdvanced: {
      display: 'KSampler (Advanced)',
      category: 'sampling',
      description: 'The denoise loop over steps start_at_step … steps (end_at_step must reach steps).',
      required: {
        model: link('MODEL'),
        add_noise: { kind: 'choice', values: ['enable', 'disable'] },
        noise_seed: SEED,
        steps: STEPS,
        cfg: CFG,
        sampler_name: SAMPLER,
        scheduler: SCHEDULER,
        positive: link('CONDITIONING'),
        negative: link('CONDITIONING'),
        latent_image: link('LATENT'),
        start_at_step: { kind: 'int', default: 0, min: 0, max: 10000 },
        end_at_step: { kind: 'int', default: 10000, min: 0, max: 10000 },
        return_with_leftover_noise: { kind: 'choice', values: ['disable', 'enable'] },
      },
      outputs: [{ type: 'LATENT', name: 'LATENT' }],
      outputNode: false,
    },
    VAEDecode: {
      display: 'VAE Decode',
      category: 'latent',
      description: 'Latents to pixels.',
      required: { samples: link('LATENT'), vae: link('VAE') },
      outputs: [{ type: 'IMAGE', name: 'IMAGE' }],
      outputNode: false,
    },
    VAEEncode: {
      display: 'VAE Encode',
      category: 'latent',
      description: 'Pixels to latents: the start of img2img.',
      required: { pixels: link('IMAGE'), vae: link('VAE') },
      outputs: [{ type: 'LATENT', name: 'LATENT' }],
      outputNode: false,
    },
    SetLatentNoiseMask: {
      display: 'Set Latent Noise Mask',
      category: 'latent/inpaint',
      description:
        'Inpainting: only the mask (a LoadImage’s MASK, its transparent pixels) is denoised; every other pixel comes back as it was.',
      required: { samples: link('LATENT'), mask: link('MASK') },
      outputs: [{ type: 'LATENT', name: 'LATENT' }],
      outputNode: false,
    },
    LoadImage: {
      display: 'Load Image',
      category: 'image',
      description: 'An image uploaded with POST /upload/image, by the name it answered.',
      required: { image: { kind: 'image_name' } },
      outputs: [
        { type: 'IMAGE', name: 'IMAGE' },
        { type: 'MASK', name: 'MASK' },
      ],
      outputNode: false,
    },
    SaveImage: {
      display: 'Save Image',
      category: 'image',
      description: 'Stores the images in R2; GET /view serves them.',
      required: { images: link('IMAGE'), filename_prefix: { kind: 'string', default: 'ComfyUI' } },
      outputs: [],
      outputNode: true,
    },
  };
}
