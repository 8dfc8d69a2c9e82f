// Replacing one initializer with a tensor of another shape: the bundled text encoder's token
// embedding grown by two rows (what textual-inversion embeddings will need) still opens in
// onnxruntime, gives bit-identical outputs for ids it had, and the new ids read the new rows; an
// initializer moved from an external data file comes inline.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { InferenceSession, Tensor } from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { OnnxFormatError, readGraphLayout } from '../src/lora/onnx-initializers.ts';
import { replaceInitializer } from '../src/lora/onnx-rewrite.ts';
import { BUNDLED_MODEL, FIXTURES } from './support/models.ts';

const TOKEN_EMBEDDING = 'model.token_embedding.weight';

async function hidden(model: Uint8Array, ids: number[]): Promise<Float32Array> {
  const session = await InferenceSession.create(model);
  const feeds = { input_ids: new Tensor('int32', Int32Array.from(ids), [1, ids.length]) };
  const out = await session.run(feeds);
  await session.release();
  return out.last_hidden_state.data as Float32Array;
}

describe('replaceInitializer', () => {
  const model = new Uint8Array(readFileSync(join(BUNDLED_MODEL, 'text_encoder/model.onnx')));
  const layout = readGraphLayout(model);
  const init = layout.initializers.get(TOKEN_EMBEDDING);
  if (init?.data.location !== 'raw') throw new Error('the bundled text encoder changed');
  const [vocab, width] = init.dims;
  const old = model.subarray(init.data.offset, init.data.offset + init.data.length);
  const grown = new Uint8Array(old.length + 2 * width * 4);
  grown.set(old);
  // Row vocab + 1 is a copy of row 5: the new id must embed like id 5 does.
  grown.set(old.subarray(5 * width * 4, 6 * width * 4), old.length + width * 4);
  const rewritten = replaceInitializer(model, layout, TOKEN_EMBEDDING, [vocab + 2, width], grown);

  it('keeps every other byte and names the new shape', () => {
    const again = readGraphLayout(rewritten);
    expect(again.initializers.get(TOKEN_EMBEDDING)?.dims).toEqual([vocab + 2, width]);
    expect(again.initializers.size).toBe(layout.initializers.size);
    expect(again.nodes).toEqual(layout.nodes);
  });

  it('gives the same outputs for old ids, and the new rows for new ids', async () => {
    const ids = [vocab - 2, 5, 7, 9, vocab - 1, vocab - 1];
    expect(await hidden(rewritten, ids)).toEqual(await hidden(model, ids));
    const viaNew = await hidden(rewritten, [vocab - 2, vocab + 1, 7, 9, vocab - 1, vocab - 1]);
    // The last hidden state mixes positions through attention, so the whole output equals the old id's.
    expect(viaNew).toEqual(await hidden(model, ids));
  });

  it('moves an external tensor inline, and refuses a name the graph lacks', () => {
    const dir = join(FIXTURES, 'external-data/unet');
    const external = new Uint8Array(readFileSync(join(dir, 'model.onnx')));
    const externalLayout = readGraphLayout(external);
    const [name, found] =
      [...externalLayout.initializers].find(([, i]) => i.data.location === 'external') ?? [];
    if (!name || !found || found.data.location !== 'external') throw new Error('the fixture changed');
    const data = readFileSync(join(dir, found.data.file)).subarray(
      found.data.offset,
      found.data.offset + found.data.length,
    );
    const inline = readGraphLayout(replaceInitializer(external, externalLayout, name, found.dims, data));
    expect(inline.initializers.get(name)?.data.location).toBe('raw');
    expect(() => replaceInitializer(model, layout, 'nope', [1], new Uint8Array(4))).toThrow(OnnxFormatError);
  });
});
