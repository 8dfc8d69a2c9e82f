// Textual-inversion embeddings in the gpu-worker: rows added to each text encoder's token
// embedding, looked up by the ids the prompt tokenizer gives their names. Checked without a
// reference implementation: an embedding whose vectors are copies of existing token rows must
// encode exactly as those tokens do, hidden states and (SDXL) pooled output alike, while every
// prompt without it encodes as the unchanged model does.
import { readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { tokenEmbeddingOf } from '../src/embeddings/token-embedding.ts';
import { openLoraLibrary } from '../src/lora/lora-library.ts';
import { LoraVariants } from '../src/lora/lora-variants.ts';
import { readGraphLayout } from '../src/lora/onnx-initializers.ts';
import { type DiffusionModel, loadDiffusionModel } from '../src/model/diffusion-model.ts';
import { rangeReader } from '../src/model/graph-file.ts';
import { ModelFolderError } from '../src/model/model-folder.ts';
import { modelRevision } from '../src/model/model-revision.ts';
import { tokenizePrompt } from '../src/pipeline/tokenize-prompt.ts';
import { LORA_FIXTURES, modelWithLoras } from './support/lora-folder.ts';
import { BUNDLED_MODEL, FIXTURES } from './support/models.ts';
import { safetensorsBytes } from './support/safetensors-file.ts';

const settings = { providers: ['cpu'] as const, intraOpThreads: 1 };
const made: string[] = [];
afterAll(() => {
  for (const dir of made) rmSync(dirname(dir), { recursive: true, force: true });
});

function copy(
  source: string,
  embeddings: Record<string, Uint8Array>,
  loras: Record<string, Uint8Array> = {},
) {
  const dir = modelWithLoras(loras, source, embeddings);
  made.push(dir);
  return dir;
}

/** The token-embedding rows of `words` (one token each) in the text encoder at `path`. */
function rowsOf(
  base: DiffusionModel,
  encoder: number,
  words: string[],
): { shape: number[]; values: number[] } {
  const { tokenizer, graph } = base.textEncoders[encoder];
  const file = readFileSync(graph.path);
  const layout = readGraphLayout(file);
  const init = tokenEmbeddingOf(layout, tokenizer.vocabSize);
  if (init.data.location === 'other') throw new Error('typed-field token embedding');
  const where = init.data.location === 'raw' ? '' : init.data.file;
  const bytes = new Uint8Array(rangeReader(graph.path, file)(where, init.data.offset, init.data.length));
  const table = new Float32Array(bytes.buffer);
  const width = init.dims[1];
  const values = words.flatMap((word) => {
    const ids = tokenizer.encode(word);
    expect(ids).toHaveLength(1);
    return [...table.subarray(ids[0] * width, (ids[0] + 1) * width)];
  });
  return { shape: [words.length, width], values };
}

async function encodeAll(m: DiffusionModel, text: string) {
  const source = tokenizePrompt(m, text);
  const chunks = [source.chunks, source.chunks2];
  return Promise.all(
    m.textEncoders.map(async (e, i) => {
      const ids = (chunks[i] ?? source.chunks).flatMap((c) => c.ids);
      return { ids, ...(await e.encode(ids, 1)) };
    }),
  );
}

describe('textual-inversion embeddings', () => {
  it('encodes an embedding of "red circle" rows exactly as the words "red circle" (SD layout)', async () => {
    const plain = await loadDiffusionModel(copy(BUNDLED_MODEL, {}), settings);
    const rows = rowsOf(plain, 0, ['red', 'circle']);
    const dir = copy(BUNDLED_MODEL, {
      'zz-shape.safetensors': safetensorsBytes({ emb_params: rows }),
      'aa-other.safetensors': safetensorsBytes({
        emb_params: { shape: [1, 64], values: new Array(64).fill(0.5) },
      }),
    });
    const served = await loadDiffusionModel(dir, settings);
    // Name order: aa-other takes the first id after the vocabulary, zz-shape the next two.
    expect(served.embeddings.map((e) => [e.name, e.vectors])).toEqual([
      ['aa-other', 1],
      ['zz-shape', 2],
    ]);
    const vocab = plain.tokenizer.vocabSize;
    const [withEmbedding] = await encodeAll(served, 'a zz-shape on blue');
    expect(withEmbedding.ids.slice(0, 5)).toEqual([
      plain.tokenizer.bos,
      plain.tokenizer.encode('a')[0],
      vocab + 1,
      vocab + 2,
      plain.tokenizer.encode('on')[0],
    ]);
    const [words] = await encodeAll(plain, 'a red circle on blue');
    expect(withEmbedding.hidden).toEqual(words.hidden);
    // Prompts without the name are the unchanged model's.
    const [servedPlain] = await encodeAll(served, 'a green square');
    const [plainPlain] = await encodeAll(plain, 'a green square');
    expect(servedPlain.hidden).toEqual(plainPlain.hidden);
    expect(await modelRevision(dir)).not.toBe(await modelRevision(plain.folder.dir));
    await Promise.all([plain.release(), served.release()]);
  });

  it("keeps SDXL's pooled output on EOS: clip_l and clip_g rows go to their own encoders", async () => {
    const source = join(FIXTURES, 'sdxl');
    const plain = await loadDiffusionModel(copy(source, {}), settings);
    const l = rowsOf(plain, 0, ['red', 'circle']);
    const g = rowsOf(plain, 1, ['red', 'circle']);
    const served = await loadDiffusionModel(
      copy(source, { 'shape.safetensors': safetensorsBytes({ clip_l: l, clip_g: g }) }),
      settings,
    );
    const embedded = await encodeAll(served, 'a shape on blue');
    const words = await encodeAll(plain, 'a red circle on blue');
    for (const i of [0, 1]) {
      expect(embedded[i].ids).not.toEqual(words[i].ids);
      expect(embedded[i].hidden).toEqual(words[i].hidden);
    }
    // ArgMax(input_ids) pools at EOS only if EOS stays the largest id the graph sees.
    expect(embedded[1].pooled).toBeDefined();
    expect(embedded[1].pooled).toEqual(words[1].pooled);
    await Promise.all([plain.release(), served.release()]);
  });

  it('adds the rows to a text encoder whose weights are in an external data file', async () => {
    const source = join(FIXTURES, 'external-data');
    const plain = await loadDiffusionModel(copy(source, {}), settings);
    const rows = rowsOf(plain, 0, ['red']);
    const served = await loadDiffusionModel(
      copy(source, { 'tint.safetensors': safetensorsBytes({ emb_params: rows }) }),
      settings,
    );
    const [embedded] = await encodeAll(served, 'tint circle');
    const [words] = await encodeAll(plain, 'red circle');
    expect(embedded.hidden).toEqual(words.hidden);
    await Promise.all([plain.release(), served.release()]);
  });

  it('merges a text-encoder LoRA into the encoder with the rows, so the set still knows the embedding', async () => {
    const lora = readFileSync(join(LORA_FIXTURES, 'random-kohya.safetensors'));
    const plainDir = copy(BUNDLED_MODEL, {}, { 'random.safetensors': lora });
    const plain = await loadDiffusionModel(plainDir, settings);
    const rows = rowsOf(plain, 0, ['red', 'circle']);
    const served = await loadDiffusionModel(
      copy(
        BUNDLED_MODEL,
        { 'shape.safetensors': safetensorsBytes({ emb_params: rows }) },
        { 'random.safetensors': lora },
      ),
      settings,
    );
    const plainLibrary = openLoraLibrary(plain);
    const servedLibrary = openLoraLibrary(served);
    const plainSet = new LoraVariants(plain, plainLibrary, settings, 1e9);
    const servedSet = new LoraVariants(served, servedLibrary, settings, 1e9);
    const entryOf = (library: typeof plainLibrary) => {
      const entry = library.entries.get('random');
      if (!entry) throw new Error('no random LoRA in the copy');
      return entry;
    };
    const a = await plainSet.acquire([{ entry: entryOf(plainLibrary), weight: 1 }]);
    const b = await servedSet.acquire([{ entry: entryOf(servedLibrary), weight: 1 }]);
    const [words] = await encodeAll(a.model, 'a red circle');
    const [embedded] = await encodeAll(b.model, 'a shape');
    const [baseWords] = await encodeAll(plain, 'a red circle');
    expect(words.hidden).not.toEqual(baseWords.hidden); // the LoRA changes the text encoder
    expect(embedded.hidden).toEqual(words.hidden);
    a.release();
    b.release();
    await Promise.all([plainSet.release(), servedSet.release(), plain.release(), served.release()]);
  });

  it('refuses, naming the file, what it cannot serve', async () => {
    const cases: [string, Record<string, Uint8Array>, RegExp][] = [
      [
        'a pickle',
        { 'old.pt': new Uint8Array([0x80, 0x02]) },
        /old\.pt is a PyTorch pickle.*convert it to safetensors/,
      ],
      [
        'another width',
        {
          'wide.safetensors': safetensorsBytes({
            emb_params: { shape: [1, 768], values: new Array(768).fill(0) },
          }),
        },
        /embeddings\/wide\.safetensors.*768.*64 wide/,
      ],
      [
        'an SDXL file',
        {
          'xl.safetensors': safetensorsBytes({
            clip_l: { shape: [1, 64], values: new Array(64).fill(0) },
            clip_g: { shape: [1, 64], values: new Array(64).fill(0) },
          }),
        },
        /xl\.safetensors: an SDXL embedding/,
      ],
      [
        'too many vectors',
        {
          'long.safetensors': safetensorsBytes({
            emb_params: { shape: [76, 64], values: new Array(76 * 64).fill(0) },
          }),
        },
        /long\.safetensors: 76 vectors/,
      ],
      [
        'no known tensor',
        {
          'odd.safetensors': safetensorsBytes({
            a: { shape: [1, 64], values: new Array(64).fill(0) },
            b: { shape: [1, 64], values: new Array(64).fill(0) },
          }),
        },
        /odd\.safetensors: tensors "a", "b"/,
      ],
    ];
    for (const [, files, message] of cases) {
      const dir = copy(BUNDLED_MODEL, files);
      await expect(loadDiffusionModel(dir, settings)).rejects.toThrow(ModelFolderError);
      await expect(loadDiffusionModel(dir, settings)).rejects.toThrow(message);
    }
  });
});
