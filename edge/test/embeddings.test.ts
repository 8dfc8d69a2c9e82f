// Textual-inversion embeddings through the edge (the bundled model's, listed at build time from
// its embeddings/ folder): listed per model (native and A1111), a name in the prompt becomes its
// vector ids (past the vocabulary, in name order, as the gpu-worker numbers its rows), counted as
// its vectors in token counts, shown by /v1/tokenize, and named with its hash in A1111's infotext.
import { beforeAll, describe, expect, it } from 'vitest';
import { A1111Embeddings } from '../src/openapi/compat-response-schemas.ts';
import { ModelList, TokenizeResponse } from '../src/openapi/response-schemas.ts';
import { call, createApiKey, gpuCalls, postJson, uniquePrompt } from './support/api.ts';

// The bundled tokenizer's vocabulary: 1161 entries, EOS (1160) last.
const FIRST_EMBEDDING_ID = 1161;

let key: string;
let embedding: { name: string; sha256: string; vectors: number };
beforeAll(async () => {
  key = (await createApiKey({ rateLimit: { requests: 1000, window_seconds: 60 } })).key;
  const models = ModelList.parse(await (await call('/v1/models', { key })).json());
  const tiny = models.data.find((m) => m.id === 'tiny-sd');
  if (tiny?.embeddings.length !== 1) {
    throw new Error('tiny-sd should list one embedding: gpu-worker/models/tiny-sd/embeddings/ holds it');
  }
  embedding = tiny.embeddings[0];
});

async function tokenize(prompt: string) {
  return TokenizeResponse.parse(
    await (await postJson('/v1/tokenize', { prompt, model: 'tiny-sd' }, key)).json(),
  );
}

describe('textual-inversion embeddings at the edge', () => {
  it('lists each model’s embeddings (native and A1111)', async () => {
    expect(embedding.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(embedding.vectors).toBeGreaterThan(0);
    const a1111 = A1111Embeddings.parse(await (await call('/sdapi/v1/embeddings', { key })).json());
    expect(a1111.loaded[embedding.name]).toEqual({
      step: null,
      sd_checkpoint: null,
      sd_checkpoint_name: 'tiny-sd',
      shape: 64,
      vectors: embedding.vectors,
    });
    const sdxl = A1111Embeddings.parse(
      await (await call('/sdapi/v1/embeddings?model=tiny-sdxl', { key })).json(),
    );
    expect(sdxl).toEqual({ loaded: {}, skipped: {} });
    expect((await call('/sdapi/v1/embeddings?model=nope', { key })).status).toBe(400);
  });

  it('turns the name into its vector ids, counted as its vectors', async () => {
    const words = uniquePrompt('a red circle');
    const withName = `${words}, ${embedding.name}`;
    const vectorIds = Array.from({ length: embedding.vectors }, (_, i) => FIRST_EMBEDDING_ID + i);

    const plain = await tokenize(`${words},`);
    const named = await tokenize(withName);
    expect(named.embeddings).toEqual([embedding.name]);
    expect(named.token_count).toBe(plain.token_count + embedding.vectors);
    const ids = named.chunks[0].ids;
    expect(ids.slice(plain.token_count + 1, plain.token_count + 1 + embedding.vectors)).toEqual(vectorIds);
    expect(named.chunks[0].tokens.filter((t) => t.embedding === embedding.name)).toHaveLength(
      embedding.vectors,
    );
    // Emphasis applies to the vectors as to words.
    const weighted = await tokenize(`${words}, (${embedding.name}:1.3)`);
    expect(
      weighted.chunks[0].weights.slice(plain.token_count + 1, plain.token_count + 1 + embedding.vectors),
    ).toEqual(vectorIds.map(() => 1.3));

    const response = await postJson('/v1/images', { model: 'tiny-sd', prompt: withName, seed: 3 }, key);
    expect(response.status).toBe(200);
    const body = (await response.json()) as { tokens: { prompt: { count: number } } };
    expect(body.tokens.prompt.count).toBe(named.token_count);
    const [job] = await gpuCalls(withName);
    expect(job.prompt_chunks?.[0].slice(0, 1 + named.token_count + 1)).toEqual(
      ids.slice(0, 1 + named.token_count + 1),
    );
  });

  it('reads the name as plain words in a model without that embedding', async () => {
    const prompt = `a red circle, ${embedding.name}`;
    const sdxl = TokenizeResponse.parse(
      await (await postJson('/v1/tokenize', { prompt, model: 'tiny-sdxl' }, key)).json(),
    );
    expect(sdxl.embeddings).toEqual([]);
    expect(sdxl.chunks[0].ids.every((id) => id < FIRST_EMBEDDING_ID)).toBe(true);
  });

  it('names the embedding and its hash in A1111’s infotext', async () => {
    const prompt = `${uniquePrompt('a blue square')}, ${embedding.name}`;
    const a1111 = await postJson('/sdapi/v1/txt2img', { prompt, seed: 5 }, key);
    expect(a1111.status).toBe(200);
    const info = JSON.parse(((await a1111.json()) as { info: string }).info);
    expect(info.infotexts[0]).toContain(`TI hashes: "${embedding.name}: ${embedding.sha256.slice(0, 12)}"`);
    const plain = await postJson(
      '/sdapi/v1/txt2img',
      { prompt: uniquePrompt('a blue square'), seed: 5 },
      key,
    );
    expect(JSON.parse(((await plain.json()) as { info: string }).info).infotexts[0]).not.toContain(
      'TI hashes',
    );
  });
});
