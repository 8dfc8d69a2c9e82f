// A checked workflow (check-graph.ts) read backwards from its SaveImage into one native generation
// request: SaveImage ← VAEDecode ← KSampler(Advanced) ← {model: checkpoint + LoRAs, positive and
// negative CLIPTextEncode, latent: EmptyLatentImage (txt2img) or VAEEncode ← LoadImage (img2img,
// denoise = strength), optionally through SetLatentNoiseMask ← LoadImage's MASK (inpainting)}. Graphs that mean something this pipeline cannot do in one generation
// (chained samplers, mixed checkpoints, partial step ranges) are refused naming the node.
import { resolveComfySampler, type SchedulerName } from '@latent-edge/shared/scheduler-names';
import { matchChoice } from './check-graph.ts';
import type { InputSpec, NodeDefinition } from './node-definitions.ts';
import { nodeError } from './prompt-error.ts';
import { asLink, type ComfyNode, type Workflow } from './workflow.ts';

/** Where a native request field came from: the node and its input, for error messages. */
export type FieldOrigins = Record<string, { node: string; input: string }>;

export interface EvaluatedWorkflow {
  request: {
    prompt: string;
    negative_prompt: string;
    model: string;
    width?: number;
    height?: number;
    n: number;
    steps: number;
    guidance_scale: number;
    scheduler: SchedulerName;
    seed: number;
    strength?: number;
    loras: { name: string; weight: number }[];
  };
  /** img2img: the uploaded image's name (LoadImage), read from R2 by the route. */
  initImageName?: string;
  /** Inpainting: the uploaded image whose alpha is SetLatentNoiseMask's mask (LoadImage's MASK). */
  maskImageName?: string;
  origins: FieldOrigins;
  outputNode: string;
  samplerNode: string;
}

/** KSampler's and KSamplerAdvanced's widget values together (each has its own subset). */
interface SamplerInputs {
  seed: number;
  noise_seed: number;
  steps: number;
  cfg: number;
  sampler_name: string;
  scheduler: string;
  denoise: number;
  add_noise: string;
  start_at_step: number;
  end_at_step: number;
}

interface Checkpoint {
  ckpt: string;
  /** The checkpoint loader's node, and the LoRAs on the path, outermost last. */
  loaderNode: string;
  loras: { name: string; weight: number; node: string }[];
}

const choiceValues = (spec: InputSpec): readonly string[] => (spec.kind === 'choice' ? spec.values : []);

export function evaluateGraph(
  workflow: Workflow,
  outputNode: string,
  definitions: Record<string, NodeDefinition>,
): EvaluatedWorkflow {
  const refuse = (id: string, message: string, input?: string) =>
    nodeError(id, workflow[id].class_type, { type: 'not_supported', message, input }, [outputNode]);
  const source = (node: ComfyNode, input: string): [string, ComfyNode] => {
    const link = asLink(node.inputs[input]);
    if (!link) throw new Error(`unchecked link ${input}`);
    return [link.node, workflow[link.node]];
  };
  const checkpointValues = choiceValues(definitions.CheckpointLoaderSimple.required.ckpt_name);
  const loraValues = choiceValues(definitions.LoraLoader.required.lora_name);

  // MODEL and CLIP both come from a checkpoint loader, through any LoRA loaders.
  const checkpointOf = (id: string, node: ComfyNode, input: 'model' | 'clip'): Checkpoint => {
    if (node.class_type === 'CheckpointLoaderSimple') {
      const ckpt = matchChoice(checkpointValues, String(node.inputs.ckpt_name)) ?? '';
      return { ckpt, loaderNode: id, loras: [] };
    }
    const [upId, up] = source(node, input);
    const below = checkpointOf(upId, up, input);
    const { strength_model: model, strength_clip: clip } = node.inputs as Record<string, number>;
    if (model !== clip) {
      throw refuse(
        id,
        `not yet: strength_model (${model}) and strength_clip (${clip}) must be equal here`,
        'strength_clip',
      );
    }
    const file = matchChoice(loraValues, String(node.inputs.lora_name)) ?? '';
    const name = file.replace(/\.safetensors$/, '');
    return { ...below, loras: [...below.loras, { name, weight: model, node: id }] };
  };
  const sameCheckpoint = (a: Checkpoint, b: Checkpoint) =>
    a.ckpt === b.ckpt &&
    JSON.stringify(a.loras.map(({ name, weight }) => [name, weight])) ===
      JSON.stringify(b.loras.map(({ name, weight }) => [name, weight]));

  // 1. SaveImage ← VAEDecode ← a sampler.
  const save = workflow[outputNode];
  const [decodeId, decode] = source(save, 'images');
  if (decode.class_type !== 'VAEDecode') {
    throw refuse(
      outputNode,
      'nothing to generate: images must come from a VAEDecode of a KSampler',
      'images',
    );
  }
  const [samplerId, sampler] = source(decode, 'samples');
  if (sampler.class_type !== 'KSampler' && sampler.class_type !== 'KSamplerAdvanced') {
    throw refuse(
      decodeId,
      'not yet: samples must come straight from a KSampler or KSamplerAdvanced',
      'samples',
    );
  }
  // Checked against the node definitions: these widgets hold values of these types.
  const inputs = sampler.inputs as unknown as SamplerInputs;

  // 2. The model, the prompts, and one checkpoint behind all of them.
  const model = checkpointOf(...source(sampler, 'model'), 'model');
  const prompts = (['positive', 'negative'] as const).map((input) => {
    const [id, encode] = source(sampler, input);
    if (encode.class_type !== 'CLIPTextEncode') {
      throw refuse(samplerId, `not yet: ${input} must come straight from a CLIPTextEncode`, input);
    }
    const clip = checkpointOf(...source(encode, 'clip'), 'clip');
    if (!sameCheckpoint(clip, model)) {
      throw refuse(id, 'not yet: the CLIP must come from the same checkpoint and LoRAs as the MODEL', 'clip');
    }
    return { id, text: String(encode.inputs.text) };
  });
  const [decodeVaeId, decodeVae] = source(decode, 'vae');
  if (
    decodeVae.class_type !== 'CheckpointLoaderSimple' ||
    checkpointOf(decodeVaeId, decodeVae, 'model').ckpt !== model.ckpt
  ) {
    throw refuse(decodeId, 'not yet: the VAE must come from the same checkpoint as the MODEL', 'vae');
  }

  // 3. The sampler's settings; KSamplerAdvanced's step range becomes img2img strength.
  const advanced = sampler.class_type === 'KSamplerAdvanced';
  const steps: number = inputs.steps;
  let denoise: number = advanced ? 1 : inputs.denoise;
  if (advanced) {
    if (inputs.add_noise !== 'enable') throw refuse(samplerId, 'not yet: add_noise "disable"', 'add_noise');
    if (inputs.end_at_step < steps) {
      throw refuse(
        samplerId,
        `not yet: end_at_step (${inputs.end_at_step}) below steps (${steps})`,
        'end_at_step',
      );
    }
    denoise = (steps - Math.min(inputs.start_at_step, steps)) / steps;
  }
  const denoiseInput = advanced ? 'start_at_step' : 'denoise';
  if (denoise <= 0) throw refuse(samplerId, 'nothing to denoise: denoise is 0', denoiseInput);
  const scheduler = resolveComfySampler(inputs.sampler_name, inputs.scheduler);
  if (!scheduler) {
    throw refuse(
      samplerId,
      `not yet: sampler_name ${JSON.stringify(inputs.sampler_name)} with scheduler ${JSON.stringify(inputs.scheduler)} (karras only with dpmpp_2m)`,
      'scheduler',
    );
  }

  // 4. The latent: empty (txt2img) or an encoded upload (img2img), maybe masked (inpainting).
  let [latentId, latent] = source(sampler, 'latent_image');
  let maskImageName: string | undefined;
  let maskOrigin: FieldOrigins[string] | undefined;
  if (latent.class_type === 'SetLatentNoiseMask') {
    const [maskId, mask] = source(latent, 'mask');
    if (mask.class_type !== 'LoadImage') {
      throw refuse(latentId, 'not yet: the mask must come straight from a LoadImage (its MASK)', 'mask');
    }
    // LoadImage's MASK is 1 − alpha: the transparent pixels are the ones to repaint.
    maskImageName = String(mask.inputs.image);
    maskOrigin = { node: maskId, input: 'image' };
    [latentId, latent] = source(latent, 'samples');
    if (latent.class_type !== 'VAEEncode') {
      throw refuse(
        latentId,
        'a noise mask needs the latent of a VAEEncode (the picture to inpaint)',
        'samples',
      );
    }
  }
  const origins: FieldOrigins = {
    prompt: { node: prompts[0].id, input: 'text' },
    negative_prompt: { node: prompts[1].id, input: 'text' },
    model: { node: model.loaderNode, input: 'ckpt_name' },
    steps: { node: samplerId, input: 'steps' },
    guidance_scale: { node: samplerId, input: 'cfg' },
    scheduler: { node: samplerId, input: 'sampler_name' },
    ...(maskOrigin && { mask: maskOrigin }),
    seed: { node: samplerId, input: advanced ? 'noise_seed' : 'seed' },
    strength: { node: samplerId, input: denoiseInput },
    ...(model.loras.length > 0 && { loras: { node: model.loras[0].node, input: 'lora_name' } }),
  };
  const request: EvaluatedWorkflow['request'] = {
    prompt: prompts[0].text,
    negative_prompt: prompts[1].text,
    model: model.ckpt,
    n: 1,
    steps,
    guidance_scale: inputs.cfg,
    scheduler,
    seed: advanced ? inputs.noise_seed : inputs.seed,
    loras: model.loras.map(({ name, weight }) => ({ name, weight })),
  };
  let initImageName: string | undefined;
  if (latent.class_type === 'EmptyLatentImage') {
    if (denoise < 1) {
      throw refuse(
        samplerId,
        'denoise below 1 needs a latent from VAEEncode (img2img), not an empty one',
        denoiseInput,
      );
    }
    request.width = Number(latent.inputs.width);
    request.height = Number(latent.inputs.height);
    request.n = Number(latent.inputs.batch_size);
    Object.assign(origins, {
      width: { node: latentId, input: 'width' },
      height: { node: latentId, input: 'height' },
      n: { node: latentId, input: 'batch_size' },
    });
  } else if (latent.class_type === 'VAEEncode') {
    const [pixelsId, pixels] = source(latent, 'pixels');
    if (pixels.class_type !== 'LoadImage') {
      throw refuse(latentId, 'not yet: pixels must come straight from a LoadImage', 'pixels');
    }
    const [vaeId, vae] = source(latent, 'vae');
    if (checkpointOf(vaeId, vae, 'model').ckpt !== model.ckpt) {
      throw refuse(latentId, 'not yet: the VAE must come from the same checkpoint as the MODEL', 'vae');
    }
    initImageName = String(pixels.inputs.image);
    request.strength = denoise;
    origins.init_image = { node: pixelsId, input: 'image' };
  } else {
    throw refuse(
      samplerId,
      `not yet: latent_image from ${latent.class_type} (chained samplers)`,
      'latent_image',
    );
  }
  return { request, initImageName, maskImageName, origins, outputNode, samplerNode: samplerId };
}
