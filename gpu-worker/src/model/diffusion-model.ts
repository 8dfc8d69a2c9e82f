// A loaded model: its folder, sessions and spec, exposed to the pipeline as plain functions over
// Float32Arrays. Everything about dtypes and tensor shapes (int32/int64 ids, float/int64/scalar
// timesteps, fp16 graphs) is settled here, so the pipeline's math never sees onnxruntime.
import { resolve } from 'node:path';
import { loadTokenizerDir } from '@latent-edge/shared/node/tokenizer-dir';
import { type EmbeddingLookup, embeddingLookup } from '@latent-edge/shared/prompt/prompt-embeddings';
import type { ClipTokenizer } from '@latent-edge/shared/tokenizer/clip-tokenizer';
import { type InferenceSession, Tensor } from 'onnxruntime-node';
import { openEmbeddings } from '../embeddings/embedding-library.ts';
import { type TextEncoderGraph, textEncoderGraph } from '../embeddings/text-encoder-graph.ts';
import { SchedulerConfig } from '../schedulers/scheduler-config.ts';
import { float16ToFloat32, float32ToFloat16 } from './float16.ts';
import { type ModelFolder, ModelFolderError, openModelFolder } from './model-folder.ts';
import { modelRevision } from './model-revision.ts';
import { type ModelSpec, readModelSpec, type TextEncoderSpec } from './model-spec.ts';
import { createSession, type ExecutionProvider, type SessionSettings } from './onnx-session.ts';

export interface DiffusionModel {
  id: string;
  /** Hash of the model's files: part of every cache key, so new weights never serve stale results. */
  revision: string;
  folder: ModelFolder;
  spec: ModelSpec;
  /** The first text encoder's tokenizer (the one every model has). */
  tokenizer: ClipTokenizer;
  /** One per text encoder, in `spec.textEncoders` order: SDXL's second pads with "!" (id 0). */
  textEncoders: TextEncoder[];
  /** The textual-inversion embeddings in the folder's embeddings/, in name (and id) order. */
  embeddings: readonly ServedEmbedding[];
  /** scheduler_config.json, parsed once; each job builds its own scheduler from it. */
  schedulerConfig: SchedulerConfig;
  provider: ExecutionProvider;
  /** Set when LoRAs are merged into this copy's UNet or text encoders (lora/lora-models.ts). */
  variant?: ModelVariant;
  /**
   * UNet: noise (or v) prediction for `batch` latents. `timesteps` has one entry per batch row;
   * models whose timestep input is a scalar or fixed at [1] need all entries equal
   * (see `perRowTimesteps`).
   */
  predictNoise(input: UnetInput): Promise<Float32Array>;
  /** Whether `predictNoise` accepts a different timestep per batch row. */
  perRowTimesteps: boolean;
  /** VAE decoder: scaled-back latents [batch, c, h, w] → images [batch, 3, 8h, 8w] in ≈[-1, 1]. */
  decodeLatents(latents: Float32Array, batch: number, height: number, width: number): Promise<Float32Array>;
  /** VAE encoder: images [1, 3, H, W] in [-1, 1] → mean and log-variance, or a graph-drawn sample. */
  encodeImage(pixels: Float32Array, height: number, width: number): Promise<EncodedImage>;
  /**
   * The same model with other sessions for its UNet and text encoders (a LoRA set merged in); the
   * VAE and everything else are shared. `release()` of the copy releases only the sessions given.
   */
  withSessions(sessions: ReplacementSessions, variant: ModelVariant): DiffusionModel;
  release(): Promise<void>;
}

export interface ReplacementSessions {
  unet?: InferenceSession;
  /** In `spec.textEncoders` order; undefined keeps the model's own. */
  textEncoders?: (InferenceSession | undefined)[];
}

export interface ModelVariant {
  /** Identifies the LoRA set: its files' hashes and weights. */
  key: string;
  /** Part of the text encoder cache's key when the set changes a text encoder; absent otherwise. */
  textKey?: string;
  loras: readonly { name: string; sha256: string; weight: number }[];
}

export interface ServedEmbedding {
  name: string;
  sha256: string;
  vectors: number;
}

export interface TextEncoder {
  spec: TextEncoderSpec;
  tokenizer: ClipTokenizer;
  /** The graph as served (with the embeddings' rows): what a LoRA merge starts from. */
  graph: TextEncoderGraph;
  /** Finds the embeddings' names in prompt tokens (for callers that tokenize here). */
  embeddings: EmbeddingLookup;
  /**
   * `batch` rows of `length` ids → hidden states [batch, length, spec.hiddenSize] and, for the
   * encoder feeding SDXL's `text_embeds`, the pooled embeddings [batch, spec.pooledSize].
   */
  encode(ids: readonly number[], batch: number): Promise<EncodedText>;
}

export interface EncodedText {
  hidden: Float32Array;
  pooled?: Float32Array;
}

export interface UnetInput {
  sample: Float32Array;
  batch: number;
  /** Latent height and width. */
  height: number;
  width: number;
  timesteps: readonly number[];
  hiddenStates: Float32Array;
  sequenceLength: number;
  /** LCM guidance embedding [batch, timestepCondDim]. */
  timestepCond?: Float32Array;
  /** SDXL: pooled prompt embeddings [batch, pooledSize] and size conditioning [batch, timeIdsSize]. */
  textEmbeds?: Float32Array;
  timeIds?: Float32Array;
}

export type EncodedImage = { mean: Float32Array; logvar: Float32Array } | { sample: Float32Array };

export interface LoadOptions extends SessionSettings {
  /** Served id; the folder name when absent. */
  id?: string;
}

function floatTensor(type: 'float32' | 'float16', data: Float32Array, dims: readonly number[]): Tensor {
  return type === 'float16'
    ? new Tensor('float16', float32ToFloat16(data), dims)
    : new Tensor('float32', data, dims);
}

function floatData(tensor: Tensor): Float32Array {
  if (tensor.type === 'float16') return float16ToFloat32(tensor.data as Uint16Array);
  if (tensor.type === 'float32') return tensor.data as Float32Array;
  throw new ModelFolderError(`expected a float output, got ${tensor.type}`);
}

/** A session that cannot open is a broken model folder: name the graph's path and the reason. */
async function openGraph(source: string | TextEncoderGraph, options: SessionSettings) {
  try {
    return await (typeof source === 'string' ? createSession(source, options) : source.open(options));
  } catch (error) {
    throw new ModelFolderError((error as Error).message);
  }
}

function textEncoderOf(
  session: InferenceSession,
  spec: TextEncoderSpec,
  tokenizer: ClipTokenizer,
  graph: TextEncoderGraph,
  embeddings: EmbeddingLookup,
): TextEncoder {
  const outputs = spec.pooledOutput ? [spec.hiddenOutput, spec.pooledOutput] : [spec.hiddenOutput];
  return {
    spec,
    tokenizer,
    graph,
    embeddings,
    async encode(ids, batch) {
      const length = ids.length / batch;
      const graphIds = ids.map(graph.toGraphId);
      const data =
        spec.idsType === 'int64' ? BigInt64Array.from(graphIds, BigInt) : Int32Array.from(graphIds);
      const results = await session.run(
        { input_ids: new Tensor(spec.idsType, data, [batch, length]) },
        outputs,
      );
      return {
        hidden: floatData(results[spec.hiddenOutput]),
        pooled: spec.pooledOutput ? floatData(results[spec.pooledOutput]) : undefined,
      };
    },
  };
}

function hasNonFinite(values: Float32Array): boolean {
  for (let i = 0; i < values.length; i++) if (!Number.isFinite(values[i])) return true;
  return false;
}

async function runSingleOutput(
  session: InferenceSession,
  feeds: Record<string, Tensor>,
  output: string,
): Promise<Tensor> {
  const results = await session.run(feeds, [output]);
  return results[output];
}

/** Loads a model folder; anything wrong with it is a ModelFolderError naming the folder. */
export async function loadDiffusionModel(dir: string, options: LoadOptions): Promise<DiffusionModel> {
  try {
    return await loadFolder(dir, options);
  } catch (error) {
    if (error instanceof ModelFolderError && !error.message.includes(resolve(dir))) {
      throw new ModelFolderError(`model folder ${resolve(dir)}: ${error.message}`);
    }
    throw error;
  }
}

async function loadFolder(dir: string, options: LoadOptions): Promise<DiffusionModel> {
  const folder = openModelFolder(dir);
  const tokenizers = [folder.tokenizerDir, folder.tokenizer2Dir]
    .filter((dir) => dir !== undefined)
    .map((dir) => loadTokenizerDir(dir));
  const parsedConfig = SchedulerConfig.safeParse(folder.schedulerConfig);
  if (!parsedConfig.success) {
    throw new ModelFolderError(`scheduler/scheduler_config.json: ${parsedConfig.error.issues[0].message}`);
  }
  const encoderPaths = [folder.textEncoderPath, folder.textEncoder2Path].filter((p) => p !== undefined);
  const embeddings = openEmbeddings(folder, encoderPaths.length);
  for (const [i, t] of tokenizers.entries()) {
    if (embeddings.length > 0 && t.eos + 1 !== t.vocabSize) {
      throw new ModelFolderError(
        `tokenizer ${i + 1}: EOS (${t.eos}) is not the vocabulary's last id; embeddings need it to be`,
      );
    }
  }
  const encoderGraphs = encoderPaths.map((path, i) =>
    textEncoderGraph(path, i, embeddings, tokenizers[i].vocabSize),
  );
  const lookups = tokenizers.map((t) => embeddingLookup(t, embeddings));
  const [textEncoder, textEncoder2, unet, vaeDecoder, vaeEncoder] = await Promise.all([
    openGraph(encoderGraphs[0], options),
    encoderGraphs[1] ? openGraph(encoderGraphs[1], options) : undefined,
    openGraph(folder.unetPath, options),
    openGraph(folder.vaeDecoderPath, options),
    folder.vaeEncoderPath ? openGraph(folder.vaeEncoderPath, options) : undefined,
  ]);
  const spec = readModelSpec({
    textEncoder: textEncoder.session,
    textEncoder2: textEncoder2?.session,
    unet: unet.session,
    vaeDecoder: vaeDecoder.session,
    vaeEncoder: vaeEncoder?.session,
  });
  const timestepMeta = unet.session.inputMetadata.find((m) => m.name === 'timestep');
  const fixedSingleTimestep = timestepMeta?.isTensor && timestepMeta.shape[0] === 1;
  const perRowTimesteps = spec.timestepRank === 1 && !fixedSingleTimestep;
  const unetOutput = unet.session.outputNames.includes('out_sample')
    ? 'out_sample'
    : unet.session.outputNames[0];
  const decoderOutput = vaeDecoder.session.outputNames.includes('sample')
    ? 'sample'
    : vaeDecoder.session.outputNames[0];
  for (const [i, t] of tokenizers.entries()) {
    if (t.maxLength !== tokenizers[0].maxLength) {
      throw new ModelFolderError(
        `tokenizer_${i + 1} has model_max_length ${t.maxLength}; tokenizer has ${tokenizers[0].maxLength}`,
      );
    }
  }
  if (spec.vaeDecoderFloat === 'float16' && folder.vaeForceUpcast) {
    options.log?.(
      `${folder.vaeDecoderPath}: a float16 VAE decoder whose config says force_upcast (SDXL's overflows in float16); images that overflow fail with a clear error. Export vae_decoder in float32, or use a fixed fp16 VAE`,
    );
  }

  const schedulerConfig = parsedConfig.data;
  const revision = await modelRevision(folder.dir);
  const vaeSessions = [vaeDecoder, vaeEncoder].map((s) => s?.session);

  function assemble(
    unetSession: InferenceSession,
    encoderSessions: InferenceSession[],
    own: (InferenceSession | undefined)[],
    variant?: ModelVariant,
  ): DiffusionModel {
    const model: DiffusionModel = {
      id: options.id ?? folder.id,
      revision,
      folder,
      spec,
      tokenizer: tokenizers[0],
      textEncoders: spec.textEncoders.map((encoderSpec, i) =>
        textEncoderOf(encoderSessions[i], encoderSpec, tokenizers[i], encoderGraphs[i], lookups[i]),
      ),
      embeddings: embeddings.map(({ name, sha256, vectors }) => ({ name, sha256, vectors })),
      schedulerConfig,
      provider: unet.provider,
      perRowTimesteps,
      variant,

      async predictNoise(input) {
        const { batch, timesteps } = input;
        const rows = perRowTimesteps ? timesteps : [timesteps[0]];
        if (!perRowTimesteps && timesteps.some((t) => t !== timesteps[0])) {
          throw new Error('this UNet takes one timestep for the whole batch');
        }
        // int64-timestep exports truncate; round instead so fractional σ-schedule timesteps land on the nearest step.
        const timestep =
          spec.timestepType === 'int64'
            ? new Tensor(
                'int64',
                BigInt64Array.from(rows, (t) => BigInt(Math.round(t))),
                spec.timestepRank ? [rows.length] : [],
              )
            : floatTensor(spec.timestepType, Float32Array.from(rows), spec.timestepRank ? [rows.length] : []);
        const feeds: Record<string, Tensor> = {
          sample: floatTensor(spec.unetFloat, input.sample, [
            batch,
            spec.unetInputChannels,
            input.height,
            input.width,
          ]),
          timestep,
          encoder_hidden_states: floatTensor(spec.unetFloat, input.hiddenStates, [
            batch,
            input.sequenceLength,
            spec.hiddenSize,
          ]),
        };
        if (spec.timestepCondDim) {
          if (!input.timestepCond) throw new Error('this UNet (LCM-distilled) needs timestep_cond');
          feeds.timestep_cond = floatTensor(spec.unetFloat, input.timestepCond, [
            batch,
            spec.timestepCondDim,
          ]);
        }
        if (spec.pooledSize) {
          if (!input.textEmbeds || !input.timeIds)
            throw new Error('this UNet (SDXL) needs text_embeds and time_ids');
          feeds.text_embeds = floatTensor(spec.unetFloat, input.textEmbeds, [batch, spec.pooledSize]);
          feeds.time_ids = floatTensor(spec.unetFloat, input.timeIds, [batch, spec.timeIdsSize]);
        }
        return floatData(await runSingleOutput(unetSession, feeds, unetOutput));
      },

      async decodeLatents(latents, batch, height, width) {
        const feeds = {
          latent_sample: floatTensor(spec.vaeDecoderFloat, latents, [
            batch,
            spec.latentChannels,
            height,
            width,
          ]),
        };
        const pixels = floatData(await runSingleOutput(vaeDecoder.session, feeds, decoderOutput));
        // A float16 decoder that overflows gives inf/NaN, which would encode as a black image.
        if (spec.vaeDecoderFloat === 'float16' && hasNonFinite(pixels)) {
          throw new Error(
            `the float16 VAE decoder overflowed (${folder.vaeForceUpcast ? 'its config says force_upcast: ' : ''}SDXL's VAE does in float16); export vae_decoder in float32 or use a fixed fp16 VAE`,
          );
        }
        return pixels;
      },

      async encodeImage(pixels, height, width) {
        if (!vaeEncoder || !spec.vaeEncoderOutput || !spec.vaeEncoderFloat) {
          throw new ModelFolderError(`model ${folder.dir} has no vae_encoder: img2img is not available`);
        }
        const feeds = { sample: floatTensor(spec.vaeEncoderFloat, pixels, [1, 3, height, width]) };
        const out = floatData(await runSingleOutput(vaeEncoder.session, feeds, spec.vaeEncoderOutput));
        if (spec.vaeEncoderOutput === 'latent_sample') return { sample: out };
        const half = out.length / 2; // [1, 2c, h, w]: mean channels first, then log-variance
        return { mean: out.subarray(0, half), logvar: out.subarray(half) };
      },

      withSessions(sessions, next) {
        const encoders = encoderSessions.map((own, i) => sessions.textEncoders?.[i] ?? own);
        const replaced = [sessions.unet, ...(sessions.textEncoders ?? [])];
        return assemble(sessions.unet ?? unetSession, encoders, replaced, next);
      },

      async release() {
        await Promise.all(own.map((s) => s?.release()));
      },
    };
    return model;
  }

  const encoderSessions = [textEncoder, textEncoder2].filter((s) => s !== undefined).map((s) => s.session);
  return assemble(unet.session, encoderSessions, [...encoderSessions, unet.session, ...vaeSessions]);
}
