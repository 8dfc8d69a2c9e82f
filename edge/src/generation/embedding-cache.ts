// Text-encoder outputs, cached in KV by what decides them: model, revision, and each chunk's token
// ids and weights (emphasis is applied inside the encoder output). A gpu-worker returns the
// embeddings it computed; later jobs for the same prompt carry them as envelope parts, so the
// text encoder runs once per distinct prompt. Entries expire so retired prompts do not pile up.
import { canonicalJson } from '@latent-edge/shared/crypto/cache-key';
import { sha256Hex } from '@latent-edge/shared/crypto/hmac';
import { bytesToFloat32, float32Bytes } from '@latent-edge/shared/protocol/envelope';
import type { PreparedPrompt } from './prepare-generation.ts';

const TTL_SECONDS = 30 * 24 * 3600;

export async function embeddingKey(model: string, revision: string, prompt: PreparedPrompt): Promise<string> {
  // Weights as float32, as the pipeline applies them (the same rule as the image cache key).
  const chunks = prompt.chunks.map((c) => ({ ids: c.ids, weights: c.weights.map(Math.fround) }));
  return `emb:${model}:${revision}:${await sha256Hex(canonicalJson(chunks))}`;
}

/** The cached embedding, when present and shaped like [chunks × ids, hidden]. */
export async function loadEmbedding(
  kv: KVNamespace,
  key: string,
  prompt: PreparedPrompt,
): Promise<Float32Array | undefined> {
  const buffer = await kv.get(key, 'arrayBuffer');
  if (!buffer || buffer.byteLength === 0) return undefined;
  const rows = prompt.chunks.length * prompt.chunks[0].ids.length;
  if (buffer.byteLength % (rows * 4) !== 0) return undefined;
  return bytesToFloat32(new Uint8Array(buffer));
}

export async function storeEmbedding(kv: KVNamespace, key: string, values: Float32Array): Promise<void> {
  if (values.length === 0) return;
  await kv.put(key, float32Bytes(values), { expirationTtl: TTL_SECONDS });
}
