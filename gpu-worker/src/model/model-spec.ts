// What a model's graphs expect, read from the sessions' input/output metadata rather than assumed
// (SD-NOTES §1.3, §1.6): ids int32 (diffusers script) or int64 (Optimum); timestep float32,
// float16 or int64, as [batch], [1] or a scalar; fp16 graphs; latent channels; hidden size;
// LCM's `timestep_cond`; whether the VAE encoder returns a sample or mean‖logvar; and whether the
// UNet is an inpainting one (SD-NOTES §1.3: its `sample` takes latent + 5 channels, the mask and
// the masked image's latent).
import type { InferenceSession } from 'onnxruntime-node';
import { ModelFolderError } from './model-folder.ts';

export type FloatType = 'float32' | 'float16';

/** One text encoder: its input ids, the output feeding the UNet, and its pooled output. */
export interface TextEncoderSpec {
  idsType: 'int32' | 'int64';
  float: FloatType;
  /**
   * The output used as (this encoder's share of) `encoder_hidden_states`: `last_hidden_state` for
   * SD 1.x/2.x; for SDXL, the penultimate layer's `hidden_states.N` (diffusers
   * `pipeline_stable_diffusion_xl.py: encode_prompt`, `hidden_states[-2]`).
   */
  hiddenOutput: string;
  hiddenSize: number;
  /** Output feeding the UNet's `text_embeds` (SDXL's second encoder: `text_embeds`). */
  pooledOutput: string | undefined;
  pooledSize: number;
}

export interface ModelSpec {
  /** One for SD 1.x/2.x; two for SDXL, whose hidden states are concatenated along the features. */
  textEncoders: TextEncoderSpec[];
  /** Float type of the UNet's sample, hidden states and output (fp16 exports use float16 throughout). */
  unetFloat: FloatType;
  timestepType: 'float32' | 'float16' | 'int64';
  /** 0: a scalar timestep (Optimum ≥ 1.24); 1: shape [batch] or [1]. */
  timestepRank: 0 | 1;
  vaeDecoderFloat: FloatType;
  vaeEncoderFloat: FloatType | undefined;
  /** `latent_parameters` (mean‖logvar, seedable) or `latent_sample` (sampled inside the graph). */
  vaeEncoderOutput: 'latent_parameters' | 'latent_sample' | undefined;
  latentChannels: number;
  /**
   * Channels of the UNet's `sample`: `latentChannels`, or 2 × that + 1 for an inpainting UNet
   * (runwayml sd-inpainting, SDXL inpainting), which also takes the mask and the masked image's latent.
   */
  unetInputChannels: number;
  /** Width of `encoder_hidden_states`: the sum of the text encoders' hidden sizes. */
  hiddenSize: number;
  /** SDXL: width of the UNet's `text_embeds` (the pooled prompt), else 0. */
  pooledSize: number;
  /** SDXL: number of `time_ids` (original size, crop, target size: 6), else 0. */
  timeIdsSize: number;
  /** LCM-distilled UNets take a guidance embedding `timestep_cond` of this width. */
  timestepCondDim: number | undefined;
}

interface Sessions {
  textEncoder: InferenceSession;
  textEncoder2?: InferenceSession;
  unet: InferenceSession;
  vaeDecoder: InferenceSession;
  vaeEncoder?: InferenceSession;
}

type Metadata = { name: string; type: string; shape: ReadonlyArray<number | string> };

function tensors(list: readonly InferenceSession.ValueMetadata[]): Map<string, Metadata> {
  const out = new Map<string, Metadata>();
  for (const m of list) if (m.isTensor) out.set(m.name, { name: m.name, type: m.type, shape: m.shape });
  return out;
}

function need(map: Map<string, Metadata>, name: string, graph: string): Metadata {
  const found = map.get(name);
  if (!found) {
    throw new ModelFolderError(
      `${graph} has no tensor "${name}" (it has ${[...map.keys()].join(', ') || 'none'})`,
    );
  }
  return found;
}

function floatType(m: Metadata, graph: string): FloatType {
  if (m.type === 'float32' || m.type === 'float16') return m.type;
  throw new ModelFolderError(`${graph} "${m.name}" is ${m.type}; expected float32 or float16`);
}

function staticDim(m: Metadata, axis: number): number | undefined {
  const dim = m.shape[axis];
  return typeof dim === 'number' && dim > 0 ? dim : undefined;
}

/** The highest N among outputs named `hidden_states.N` (Optimum's output_hidden_states export). */
function lastHiddenStateIndex(outputs: Map<string, Metadata>): number | undefined {
  let last: number | undefined;
  for (const name of outputs.keys()) {
    const match = /^hidden_states\.(\d+)$/.exec(name);
    if (match) last = Math.max(last ?? 0, Number(match[1]));
  }
  return last;
}

function readTextEncoderSpec(
  session: InferenceSession,
  graph: string,
  penultimate: boolean,
): TextEncoderSpec {
  const inputs = tensors(session.inputMetadata);
  const outputs = tensors(session.outputMetadata);
  const ids = need(inputs, 'input_ids', graph);
  if (ids.type !== 'int32' && ids.type !== 'int64') {
    throw new ModelFolderError(`${graph} "input_ids" is ${ids.type}; expected int32 or int64`);
  }
  const last = need(outputs, 'last_hidden_state', graph);
  let hidden = last;
  if (penultimate) {
    const index = lastHiddenStateIndex(outputs);
    if (index === undefined || index < 1) {
      throw new ModelFolderError(
        `${graph} has no "hidden_states.N" outputs: an SDXL text encoder must be exported with its hidden states (Optimum does), since SDXL conditions on the penultimate layer`,
      );
    }
    hidden = need(outputs, `hidden_states.${index - 1}`, graph);
  }
  const pooled = outputs.get('text_embeds');
  return {
    idsType: ids.type,
    float: floatType(hidden, graph),
    hiddenOutput: hidden.name,
    hiddenSize: staticDim(hidden, 2) ?? staticDim(last, 2) ?? 0,
    pooledOutput: pooled?.name,
    pooledSize: pooled ? (staticDim(pooled, 1) ?? 0) : 0,
  };
}

export function readModelSpec(sessions: Sessions): ModelSpec {
  const unetIn = tensors(sessions.unet.inputMetadata);
  const decIn = tensors(sessions.vaeDecoder.inputMetadata);
  const sample = need(unetIn, 'sample', 'unet');
  const timestep = need(unetIn, 'timestep', 'unet');
  const encoderHiddenStates = need(unetIn, 'encoder_hidden_states', 'unet');
  if (timestep.type !== 'float32' && timestep.type !== 'float16' && timestep.type !== 'int64') {
    throw new ModelFolderError(`unet "timestep" is ${timestep.type}; expected float32, float16 or int64`);
  }
  const latent = need(decIn, 'latent_sample', 'vae_decoder');

  // SDXL: the UNet takes the pooled prompt (`text_embeds`) and the size conditioning (`time_ids`).
  const textEmbeds = unetIn.get('text_embeds');
  const timeIds = unetIn.get('time_ids');
  if (Boolean(textEmbeds) !== Boolean(timeIds)) {
    throw new ModelFolderError('unet takes only one of "text_embeds" and "time_ids"; SDXL UNets take both');
  }
  const twoEncoders = sessions.textEncoder2 !== undefined;
  if (textEmbeds && !twoEncoders) {
    throw new ModelFolderError(
      'unet takes "text_embeds" and "time_ids" (SDXL) but the folder has no text_encoder_2/model.onnx',
    );
  }
  if (twoEncoders && !textEmbeds) {
    throw new ModelFolderError('the folder has text_encoder_2 but the unet takes no "text_embeds" (SDXL)');
  }
  const textEncoders = [readTextEncoderSpec(sessions.textEncoder, 'text_encoder', twoEncoders)];
  if (sessions.textEncoder2) {
    textEncoders.push(readTextEncoderSpec(sessions.textEncoder2, 'text_encoder_2', true));
  }

  const hiddenSize = staticDim(encoderHiddenStates, 2) ?? textEncoders.reduce((n, e) => n + e.hiddenSize, 0);
  if (!hiddenSize)
    throw new ModelFolderError(
      'cannot tell the hidden size: unet "encoder_hidden_states" has no static last axis',
    );
  if (textEncoders.every((e) => e.hiddenSize > 0)) {
    const sum = textEncoders.reduce((n, e) => n + e.hiddenSize, 0);
    if (sum !== hiddenSize) {
      const sizes =
        textEncoders.length === 1
          ? `text_encoder hidden size ${sum}`
          : `text_encoder + text_encoder_2 hidden sizes ${textEncoders.map((e) => e.hiddenSize).join(' + ')}`;
      throw new ModelFolderError(`${sizes} does not fit the unet's ${hiddenSize}`);
    }
  } else if (textEncoders.length === 1) {
    textEncoders[0].hiddenSize = hiddenSize;
  } else {
    throw new ModelFolderError(
      "cannot tell the text encoders' hidden sizes: their outputs have no static last axis",
    );
  }

  let pooledSize = 0;
  let timeIdsSize = 0;
  if (textEmbeds && timeIds) {
    const pooledBy = textEncoders.filter((e) => e.pooledOutput);
    if (pooledBy.length !== 1) {
      throw new ModelFolderError(
        `unet takes "text_embeds" but ${pooledBy.length === 0 ? 'no' : 'more than one'} text encoder has a "text_embeds" output`,
      );
    }
    pooledSize = staticDim(textEmbeds, 1) ?? pooledBy[0].pooledSize;
    if (pooledBy[0].pooledSize && pooledBy[0].pooledSize !== pooledSize) {
      throw new ModelFolderError(
        `text_encoder_2 "text_embeds" has ${pooledBy[0].pooledSize} values but the unet's "text_embeds" takes ${pooledSize}`,
      );
    }
    pooledBy[0].pooledSize = pooledSize;
    timeIdsSize = staticDim(timeIds, 1) ?? 6;
    if (timeIdsSize !== 6) {
      throw new ModelFolderError(
        `unet "time_ids" has ${timeIdsSize} values; only SDXL base's 6 (original size, crop, target size) are supported, not the refiner's aesthetic-score conditioning`,
      );
    }
  }

  const unetOut = tensors(sessions.unet.outputMetadata);
  const noiseOut = unetOut.get('out_sample') ?? [...unetOut.values()][0];
  const decoderChannels = staticDim(latent, 1);
  const outputChannels = noiseOut && staticDim(noiseOut, 1);
  const inputChannels = staticDim(sample, 1);
  const latentChannels = decoderChannels ?? outputChannels ?? inputChannels ?? 4;
  if (outputChannels && outputChannels !== latentChannels) {
    throw new ModelFolderError(
      `vae_decoder takes ${latentChannels} latent channels but the unet makes ${outputChannels}`,
    );
  }
  // An inpainting UNet's sample is the latent, the mask (1 channel) and the masked image's latent.
  const inpaintingChannels = 2 * latentChannels + 1;
  const unetInputChannels = inputChannels ?? latentChannels;
  if (unetInputChannels !== latentChannels && unetInputChannels !== inpaintingChannels) {
    throw new ModelFolderError(
      `unet "sample" takes ${unetInputChannels} channels: neither the ${latentChannels} latent channels nor the ${inpaintingChannels} of an inpainting UNet`,
    );
  }
  if (unetInputChannels !== latentChannels && !sessions.vaeEncoder) {
    throw new ModelFolderError(
      'the unet is an inpainting one (it takes a mask and a masked image) but the folder has no vae_encoder/model.onnx to encode that image',
    );
  }

  let vaeEncoderOutput: ModelSpec['vaeEncoderOutput'];
  let vaeEncoderFloat: FloatType | undefined;
  if (sessions.vaeEncoder) {
    const encOut = tensors(sessions.vaeEncoder.outputMetadata);
    vaeEncoderOutput = encOut.has('latent_parameters')
      ? 'latent_parameters'
      : encOut.has('latent_sample')
        ? 'latent_sample'
        : undefined;
    if (!vaeEncoderOutput)
      throw new ModelFolderError('vae_encoder has neither "latent_parameters" nor "latent_sample" output');
    vaeEncoderFloat = floatType(
      need(tensors(sessions.vaeEncoder.inputMetadata), 'sample', 'vae_encoder'),
      'vae_encoder',
    );
  }

  const cond = unetIn.get('timestep_cond');
  return {
    textEncoders,
    unetFloat: floatType(sample, 'unet'),
    timestepType: timestep.type,
    timestepRank: timestep.shape.length === 0 ? 0 : 1,
    vaeDecoderFloat: floatType(latent, 'vae_decoder'),
    vaeEncoderFloat,
    vaeEncoderOutput,
    latentChannels,
    unetInputChannels,
    hiddenSize,
    pooledSize,
    timeIdsSize,
    timestepCondDim: cond ? (staticDim(cond, 1) ?? 256) : undefined,
  };
}
