// What a model's graphs expect, read from the sessions' input/output metadata rather than assumed
// (SD-NOTES §1.3, §1.6): ids int32 (diffusers script) or int64 (Optimum); timestep float32,
// float16 or int64, as [batch], [1] or a scalar; fp16 graphs; latent channels; hidden size;
// LCM's `timestep_cond`; and whether the VAE encoder returns a sample or mean‖logvar.
import type { InferenceSession } from 'onnxruntime-node';
import { ModelFolderError } from './model-folder.ts';

export type FloatType = 'float32' | 'float16';

export interface ModelSpec {
  idsType: 'int32' | 'int64';
  /** Float type of the UNet's sample, hidden states and output (fp16 exports use float16 throughout). */
  unetFloat: FloatType;
  timestepType: 'float32' | 'float16' | 'int64';
  /** 0: a scalar timestep (Optimum ≥ 1.24); 1: shape [batch] or [1]. */
  timestepRank: 0 | 1;
  textEncoderFloat: FloatType;
  /** Name of the text encoder output used as `encoder_hidden_states`. */
  hiddenStateOutput: string;
  vaeDecoderFloat: FloatType;
  vaeEncoderFloat: FloatType | undefined;
  /** `latent_parameters` (mean‖logvar, seedable) or `latent_sample` (sampled inside the graph). */
  vaeEncoderOutput: 'latent_parameters' | 'latent_sample' | undefined;
  latentChannels: number;
  hiddenSize: number;
  /** LCM-distilled UNets take a guidance embedding `timestep_cond` of this width. */
  timestepCondDim: number | undefined;
}

interface Sessions {
  textEncoder: InferenceSession;
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

export function readModelSpec(sessions: Sessions): ModelSpec {
  const teIn = tensors(sessions.textEncoder.inputMetadata);
  const teOut = tensors(sessions.textEncoder.outputMetadata);
  const unetIn = tensors(sessions.unet.inputMetadata);
  const decIn = tensors(sessions.vaeDecoder.inputMetadata);

  const ids = need(teIn, 'input_ids', 'text_encoder');
  if (ids.type !== 'int32' && ids.type !== 'int64') {
    throw new ModelFolderError(`text_encoder "input_ids" is ${ids.type}; expected int32 or int64`);
  }
  const hidden = need(teOut, 'last_hidden_state', 'text_encoder');
  const sample = need(unetIn, 'sample', 'unet');
  const timestep = need(unetIn, 'timestep', 'unet');
  const encoderHiddenStates = need(unetIn, 'encoder_hidden_states', 'unet');
  if (timestep.type !== 'float32' && timestep.type !== 'float16' && timestep.type !== 'int64') {
    throw new ModelFolderError(`unet "timestep" is ${timestep.type}; expected float32, float16 or int64`);
  }
  const latent = need(decIn, 'latent_sample', 'vae_decoder');

  const hiddenSize = staticDim(encoderHiddenStates, 2) ?? staticDim(hidden, 2);
  if (!hiddenSize)
    throw new ModelFolderError(
      'cannot tell the hidden size: unet "encoder_hidden_states" has no static last axis',
    );
  const textHidden = staticDim(hidden, 2);
  if (textHidden && textHidden !== hiddenSize) {
    throw new ModelFolderError(
      `text_encoder hidden size ${textHidden} does not fit the unet's ${hiddenSize}`,
    );
  }
  const latentChannels = staticDim(sample, 1) ?? staticDim(latent, 1) ?? 4;
  const decoderChannels = staticDim(latent, 1);
  if (decoderChannels && decoderChannels !== latentChannels) {
    throw new ModelFolderError(
      `vae_decoder takes ${decoderChannels} latent channels but the unet makes ${latentChannels}`,
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
    idsType: ids.type,
    unetFloat: floatType(sample, 'unet'),
    timestepType: timestep.type,
    timestepRank: timestep.shape.length === 0 ? 0 : 1,
    textEncoderFloat: floatType(hidden, 'text_encoder'),
    hiddenStateOutput: 'last_hidden_state',
    vaeDecoderFloat: floatType(latent, 'vae_decoder'),
    vaeEncoderFloat,
    vaeEncoderOutput,
    latentChannels,
    hiddenSize,
    timestepCondDim: cond ? (staticDim(cond, 1) ?? 256) : undefined,
  };
}
