// Text-encoder outputs, cached in KV by what decides them: model, revision, and each chunk's token
// ids and weights for every text encoder (emphasis is applied inside the encoder output); SDXL's
// pooled embedding is stored after the hidden states, its length in the entry's metadata. A gpu-worker returns the
// embeddings it computed; later jobs for the same prompt carry them as envelope parts, so the
// text encoder runs once per distinct prompt. Entries expire so retired prompts do not pile up.
import { canonicalJson } from '@latent-edge/shared/crypto/cache-key';
import { sha256Hex } from '@latent-edge/shared/crypto/hmac';
import { bytesToFloat32, float32Bytes } from '@latent-edge/shared/protocol/envelope';
import type { PreparedLora } from './lora-choices.ts';
import type { PreparedPrompt } from './prepare-generation.ts';

const TTL_SECONDS = 30 * 24 * 3600;

/**
 * `loras`: the request's LoRAs; those that change a text encoder are part of the key (their
 * embeddings are not the base model's), those that change only the UNet are not.
 */
export async function embeddingKey(
  model: string,
  revision: string,
  prompt: PreparedPrompt,
  loras: readonly PreparedLora[] = [],
): Promise<string> {
  // Weights as float32, as the pipeline applies them (the same rule as the image cache key).
  const float32 = (chunks: PreparedPrompt['chunks']) =>
    chunks.map((c) => ({ ids: c.ids, weights: c.weights.map(Math.fround) }));
  // A one-encoder model hashes its chunk list alone, as before; SDXL hashes both encoders' chunks.
  const chunks = prompt.chunks2
    ? { chunks: float32(prompt.chunks), chunks_2: float32(prompt.chunks2) }
    : float32(prompt.chunks);
  const text = loras.filter((l) => l.textEncoder).map(({ sha256, weight }) => ({ sha256, weight }));
  const identity = text.length > 0 ? { chunks, loras: text } : chunks;
  return `emb:${model}:${revision}:${await sha256Hex(canonicalJson(identity))}`;
}

/** Stored beside the values: how many of them, at the end, are the pooled embedding (SDXL). */
interface EmbeddingMetadata {
  pooled?: number;
}

/** The cached embedding, when present and shaped like [chunks × ids, hidden] (+ pooled values). */
export async function loadEmbedding(
  kv: KVNamespace,
  key: string,
  prompt: PreparedPrompt,
): Promise<Float32Array | undefined> {
  const { value: buffer, metadata } = await kv.getWithMetadata<EmbeddingMetadata>(key, 'arrayBuffer');
  if (!buffer || buffer.byteLength === 0 || buffer.byteLength % 4 !== 0) return undefined;
  const rows = prompt.chunks.length * prompt.chunks[0].ids.length;
  const hiddenValues = buffer.byteLength / 4 - (metadata?.pooled ?? 0);
  if (hiddenValues <= 0 || hiddenValues % rows !== 0) return undefined;
  return bytesToFloat32(new Uint8Array(buffer));
}

export async function storeEmbedding(
  kv: KVNamespace,
  key: string,
  values: Float32Array,
  pooled = 0,
): Promise<void> {
  if (values.length === 0) return;
  const metadata: EmbeddingMetadata = pooled > 0 ? { pooled } : {};
  await kv.put(key, float32Bytes(values), { expirationTtl: TTL_SECONDS, metadata });
}
