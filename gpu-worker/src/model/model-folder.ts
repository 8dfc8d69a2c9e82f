// A model folder in the standard diffusers/Optimum ONNX layout (model_index.json, scheduler/,
// tokenizer/, text_encoder/, unet/, vae_decoder/, vae_encoder/). Only file discovery and JSON
// reading happen here; graph facts come from the sessions (model-spec.ts).
import { existsSync, readFileSync, statSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';

export class ModelFolderError extends Error {
  override name = 'ModelFolderError';
}

export interface ModelFolder {
  dir: string;
  /** The folder's name, unless model_index.json names it. */
  id: string;
  schedulerConfig: Record<string, unknown>;
  /** Scheduler class from scheduler_config.json (`_class_name`), e.g. PNDMScheduler. */
  schedulerClass: string | undefined;
  tokenizerDir: string;
  textEncoderPath: string;
  /** SDXL's second text encoder (OpenCLIP) and its own tokenizer folder, when present. */
  textEncoder2Path: string | undefined;
  tokenizer2Dir: string | undefined;
  /**
   * SDXL (model_index.json `force_zeros_for_empty_prompt`): an empty negative prompt conditions
   * on zeros rather than on the encoded empty text (diffusers `pipeline_stable_diffusion_xl.py`).
   */
  forceZerosForEmptyPrompt: boolean;
  /** The VAE config's `force_upcast`: its decoder overflows in float16 (SDXL's does). */
  vaeForceUpcast: boolean;
  unetPath: string;
  vaeDecoderPath: string;
  vaeEncoderPath: string | undefined;
  /** VAE latent scale (SD: 0.18215), from the VAE config; SD's value when absent. */
  vaeScalingFactor: number;
  /** Native image size in pixels: the UNet's `sample_size` × 8 (SD 1.5: 512), else 512. */
  nativeSize: number;
  /**
   * Image sides must be multiples of this: 8 for the VAE times 2 per UNet downsampling, because a
   * traced UNet assumes exact halving (SD-NOTES §1.4; SD: 64). From the UNet config, else 64.
   */
  sizeMultiple: number;
  /** Latent → RGB linear map for previews (latent_rgb.json beside the VAE decoder), when present. */
  latentRgb: { factors: number[][]; bias: number[] } | undefined;
}

function readJson(path: string, what: string): Record<string, unknown> {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
  } catch (error) {
    throw new ModelFolderError(`${what} (${path}) is not readable JSON: ${(error as Error).message}`);
  }
}

function optionalJson(path: string, what: string): Record<string, unknown> | undefined {
  return existsSync(path) ? readJson(path, what) : undefined;
}

function requireFile(dir: string, relative: string, what: string): string {
  const path = join(dir, relative);
  if (!existsSync(path)) throw new ModelFolderError(`model folder ${dir} has no ${relative} (${what})`);
  return path;
}

export function openModelFolder(folder: string): ModelFolder {
  const dir = resolve(folder);
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    throw new ModelFolderError(`model folder ${dir} does not exist`);
  }
  const schedulerConfig = readJson(
    requireFile(dir, 'scheduler/scheduler_config.json', 'the scheduler configuration'),
    'scheduler_config.json',
  );
  const tokenizerDir = join(dir, 'tokenizer');
  requireFile(dir, 'tokenizer/vocab.json', 'the tokenizer vocabulary');
  requireFile(dir, 'tokenizer/merges.txt', 'the tokenizer merges');

  // Optimum writes the VAE config (with scaling_factor) into both VAE folders.
  const vaeConfig =
    optionalJson(join(dir, 'vae_decoder/config.json'), 'vae_decoder/config.json') ??
    optionalJson(join(dir, 'vae/config.json'), 'vae/config.json');
  const unetConfig = optionalJson(join(dir, 'unet/config.json'), 'unet/config.json');
  const modelIndex = optionalJson(join(dir, 'model_index.json'), 'model_index.json');
  const latentRgb = optionalJson(join(dir, 'vae_decoder/latent_rgb.json'), 'vae_decoder/latent_rgb.json');
  const scale = vaeConfig?.scaling_factor;
  const textEncoder2Path = existsSync(join(dir, 'text_encoder_2/model.onnx'))
    ? join(dir, 'text_encoder_2/model.onnx')
    : undefined;
  if (textEncoder2Path) {
    requireFile(dir, 'tokenizer_2/vocab.json', "the second text encoder's tokenizer vocabulary");
    requireFile(dir, 'tokenizer_2/merges.txt', "the second text encoder's tokenizer merges");
  }

  return {
    dir,
    id: typeof modelIndex?._name_or_path === 'string' ? basename(modelIndex._name_or_path) : basename(dir),
    schedulerConfig,
    schedulerClass: typeof schedulerConfig._class_name === 'string' ? schedulerConfig._class_name : undefined,
    tokenizerDir,
    textEncoderPath: requireFile(dir, 'text_encoder/model.onnx', 'the text encoder'),
    textEncoder2Path,
    tokenizer2Dir: textEncoder2Path ? join(dir, 'tokenizer_2') : undefined,
    forceZerosForEmptyPrompt: modelIndex?.force_zeros_for_empty_prompt === true,
    vaeForceUpcast: vaeConfig?.force_upcast === true,
    unetPath: requireFile(dir, 'unet/model.onnx', 'the UNet'),
    vaeDecoderPath: requireFile(dir, 'vae_decoder/model.onnx', 'the VAE decoder'),
    vaeEncoderPath: existsSync(join(dir, 'vae_encoder/model.onnx'))
      ? join(dir, 'vae_encoder/model.onnx')
      : undefined,
    vaeScalingFactor: typeof scale === 'number' && scale > 0 ? scale : 0.18215,
    nativeSize: typeof unetConfig?.sample_size === 'number' ? unetConfig.sample_size * 8 : 512,
    sizeMultiple: Array.isArray(unetConfig?.block_out_channels)
      ? 8 * 2 ** (unetConfig.block_out_channels.length - 1)
      : 64,
    latentRgb: latentRgb as ModelFolder['latentRgb'],
  };
}
