// A textual-inversion embedding file: new token vectors for each text encoder. The layouts people
// download, all safetensors:
//   AUTOMATIC1111 (SD 1.x/2.x)  `emb_params` [n, width]
//   SDXL (A1111, kohya)         `clip_l` [n, 768] for text_encoder and `clip_g` [n, 1280] for text_encoder_2
//   diffusers textual_inversion one tensor named by its placeholder token, [width] or [n, width]
// PyTorch `.pt` pickles are refused: unpickling runs code the file chooses.
import { type SafetensorsFile, tensorToFloat32 } from '../lora/safetensors.ts';

export class EmbeddingFormatError extends Error {
  override name = 'EmbeddingFormatError';
}

export interface EmbeddingFile {
  /** Vectors per prompt occurrence. */
  vectors: number;
  /** Per text encoder, in the model's order: `vectors` rows of that encoder's width, row-major. */
  rows: { width: number; values: Float32Array }[];
}

/** Most vectors one embedding may take: a chunk holds 75 prompt tokens. */
export const MAX_VECTORS = 75;

function matrix(
  file: SafetensorsFile,
  key: string,
): { vectors: number; width: number; values: Float32Array } {
  const tensor = file.tensors.get(key);
  if (!tensor) throw new EmbeddingFormatError(`no tensor "${key}"`);
  const shape = tensor.shape.length === 1 ? [1, tensor.shape[0]] : tensor.shape;
  if (shape.length !== 2 || shape[0] < 1 || shape[1] < 1) {
    throw new EmbeddingFormatError(`"${key}" has shape [${tensor.shape}], not [vectors, width]`);
  }
  return { vectors: shape[0], width: shape[1], values: tensorToFloat32(tensor, key) };
}

export function parseEmbedding(file: SafetensorsFile, encoders: number): EmbeddingFile {
  const keys = [...file.tensors.keys()];
  let parts: ReturnType<typeof matrix>[];
  if (keys.includes('clip_l') || keys.includes('clip_g')) {
    if (encoders !== 2) {
      throw new EmbeddingFormatError('an SDXL embedding (clip_l/clip_g) for a model with one text encoder');
    }
    parts = [matrix(file, 'clip_l'), matrix(file, 'clip_g')];
  } else if (keys.length === 1 || keys.includes('emb_params')) {
    if (encoders !== 1) {
      throw new EmbeddingFormatError(
        'an embedding for one text encoder; this model has two (an SDXL embedding has clip_l and clip_g)',
      );
    }
    parts = [matrix(file, keys.includes('emb_params') ? 'emb_params' : keys[0])];
  } else {
    throw new EmbeddingFormatError(
      `tensors ${keys.map((k) => `"${k}"`).join(', ')}: expected emb_params, clip_l + clip_g, or a single tensor`,
    );
  }
  const vectors = parts[0].vectors;
  if (parts.some((p) => p.vectors !== vectors)) {
    throw new EmbeddingFormatError(`clip_l has ${parts[0].vectors} vectors and clip_g ${parts[1].vectors}`);
  }
  if (vectors > MAX_VECTORS) {
    throw new EmbeddingFormatError(
      `${vectors} vectors do not fit in one prompt chunk (at most ${MAX_VECTORS})`,
    );
  }
  return { vectors, rows: parts.map(({ width, values }) => ({ width, values })) };
}
