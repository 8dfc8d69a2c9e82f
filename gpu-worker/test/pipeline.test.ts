// The recipe end to end on real onnxruntime sessions: the project's small models, in every export
// variant a real checkpoint comes in (int32/int64 ids, float/int64/scalar timesteps, fp16, LCM's
// timestep_cond, SD 2.x padding and v-prediction).
import { join } from 'node:path';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { readPngText } from '../src/image/png-text.ts';
import { generate } from '../src/pipeline/generate.ts';
import { TextEncoderCache } from '../src/pipeline/text-encoder-cache.ts';
import { BUNDLED_MODEL, FIXTURE_VARIANTS, FIXTURES, model, request } from './support/models.ts';

async function pixels(png: Uint8Array) {
  const { data, info } = await sharp(png).raw().toBuffer({ resolveWithObject: true });
  return { data, info };
}

describe('generate on every export variant', () => {
  it.each(FIXTURE_VARIANTS)('%s: makes a PNG of the asked size with its parameters', async (variant) => {
    const m = await model(join(FIXTURES, variant));
    const result = await generate(
      m,
      request(m, { scheduler: variant === 'lcm' ? 'lcm' : 'euler', width: 96, height: 64 }),
    );
    expect(result.images).toHaveLength(1);
    const { info } = await pixels(result.images[0].bytes);
    expect([info.width, info.height, info.channels]).toEqual([96, 64, 3]);
    const text = readPngText(result.images[0].bytes);
    expect(text.parameters).toMatch(
      /^a red circle\nSteps: 4, Sampler: (Euler|LCM), CFG scale: 7.5, Seed: 1, Size: 96x64/,
    );
    expect(JSON.parse(text['latent-edge'])).toMatchObject({ model: variant, seed: 1, steps: 4, width: 96 });
  });

  it('reads the dtypes a real export declares', async () => {
    expect((await model(join(FIXTURES, 'int64'))).spec).toMatchObject({
      textEncoders: [{ idsType: 'int64', hiddenOutput: 'last_hidden_state', pooledOutput: undefined }],
      timestepType: 'int64',
      timestepRank: 1,
    });
    expect((await model(join(FIXTURES, 'scalar-timestep'))).spec).toMatchObject({
      timestepType: 'float32',
      timestepRank: 0,
      vaeEncoderOutput: 'latent_parameters',
    });
    expect((await model(join(FIXTURES, 'fp16'))).spec).toMatchObject({
      unetFloat: 'float16',
      timestepType: 'float16',
    });
    expect((await model(join(FIXTURES, 'lcm'))).spec.timestepCondDim).toBe(256);
    expect((await model(join(FIXTURES, 'sd2-pad'))).tokenizer.pad).toBe(0);
    expect((await model(join(FIXTURES, 'int64'))).spec.vaeEncoderOutput).toBe('latent_sample');
  });
});

describe('generate', () => {
  it('gives identical bytes for the same seed and different images for different seeds', async () => {
    const m = await model(BUNDLED_MODEL);
    const a = await generate(m, request(m, { seeds: [7] }));
    const b = await generate(m, request(m, { seeds: [7] }));
    const c = await generate(m, request(m, { seeds: [8] }));
    expect(Buffer.from(a.images[0].bytes).equals(Buffer.from(b.images[0].bytes))).toBe(true);
    expect(
      Buffer.from((await pixels(a.images[0].bytes)).data).equals(
        Buffer.from((await pixels(c.images[0].bytes)).data),
      ),
    ).toBe(false);
  });

  it('makes image i of a batch exactly as it would alone (seeds seed, seed+1, ...)', async () => {
    const m = await model(BUNDLED_MODEL);
    const batch = await generate(m, request(m, { seeds: [20, 21, 22], scheduler: 'euler_ancestral' }));
    const alone = await generate(m, request(m, { seeds: [21], scheduler: 'euler_ancestral' }));
    expect(batch.images.map((i) => i.seed)).toEqual([20, 21, 22]);
    expect(
      (await pixels(batch.images[1].bytes)).data.equals((await pixels(alone.images[0].bytes)).data),
    ).toBe(true);
  });

  it('runs the text encoder once per distinct prompt and accepts precomputed embeddings', async () => {
    const m = await model(BUNDLED_MODEL);
    const cache = new TextEncoderCache();
    const first = await generate(m, request(m, { text: 'a blue square' }), cache);
    expect(first.embeddingsFromCache).toBe(false);
    const second = await generate(m, request(m, { text: 'a blue square' }), cache);
    expect(second.embeddingsFromCache).toBe(true);
    const given = request(m, { text: 'a blue square' });
    given.prompt.embedding = first.promptEmbedding;
    given.negativePrompt.embedding = first.negativeEmbedding;
    const fromEmbeddings = await generate(m, given, new TextEncoderCache());
    expect(fromEmbeddings.embeddingsFromCache).toBe(true);
    expect(Buffer.from(fromEmbeddings.images[0].bytes).equals(Buffer.from(first.images[0].bytes))).toBe(true);
  });

  it('changes the image when a prompt weight changes', async () => {
    const m = await model(BUNDLED_MODEL);
    const plain = await generate(m, request(m, { text: 'a red circle' }));
    const weighted = await generate(m, request(m, { text: 'a (red:1.4) circle' }));
    expect(
      (await pixels(plain.images[0].bytes)).data.equals((await pixels(weighted.images[0].bytes)).data),
    ).toBe(false);
  });

  it('accepts long prompts as concatenated chunks, padding the negative prompt to match', async () => {
    const m = await model(BUNDLED_MODEL);
    const long = Array.from({ length: 40 }, () => 'red circle,').join(' ');
    const result = await generate(m, request(m, { text: long }));
    expect(result.promptEmbedding.length).toBe(2 * 77 * m.spec.hiddenSize);
    expect(result.negativeEmbedding?.length).toBe(77 * m.spec.hiddenSize);
  });

  it('skips the unconditional branch when guidance_scale ≤ 1', async () => {
    const m = await model(BUNDLED_MODEL);
    const result = await generate(m, request(m, { guidanceScale: 1 }));
    expect(result.negativeEmbedding).toBeUndefined();
  });

  it('runs img2img from an init image: only the last strength × steps steps, deterministically', async () => {
    const m = await model(BUNDLED_MODEL);
    const init = await sharp({
      create: { width: 64, height: 64, channels: 3, background: { r: 200, g: 30, b: 30 } },
    })
      .png()
      .toBuffer();
    const run = async (strength: number) => {
      let steps = 0;
      const result = await generate(m, {
        ...request(m, { initImage: init, strength, steps: 10 }),
        onStep: () => steps++,
      });
      return { steps, bytes: Buffer.from(result.images[0].bytes) };
    };
    const low = await run(0.2);
    const again = await run(0.2);
    const high = await run(1);
    // diffusers get_timesteps: ⌊10 × 0.2⌋ = 2 of 10 steps run; strength 1 runs all 10.
    expect([low.steps, high.steps]).toEqual([2, 10]);
    expect(low.bytes.equals(again.bytes)).toBe(true);
    expect(low.bytes.equals(high.bytes)).toBe(false);
  });

  it('writes WebP and JPEG when asked', async () => {
    const m = await model(BUNDLED_MODEL);
    const webp = await generate(m, request(m, { outputFormat: 'webp' }));
    const jpeg = await generate(m, request(m, { outputFormat: 'jpeg' }));
    expect((await sharp(webp.images[0].bytes).metadata()).format).toBe('webp');
    expect((await sharp(jpeg.images[0].bytes).metadata()).format).toBe('jpeg');
    expect(webp.images[0].contentType).toBe('image/webp');
  });

  it('stops between steps when its signal aborts', async () => {
    const m = await model(BUNDLED_MODEL);
    const controller = new AbortController();
    const steps: number[] = [];
    const run = generate(m, {
      ...request(m, { steps: 20 }),
      signal: controller.signal,
      onStep: (step) => {
        steps.push(step);
        if (step === 3) controller.abort(new Error('cancelled'));
      },
    });
    await expect(run).rejects.toThrow('cancelled');
    expect(steps).toEqual([1, 2, 3]);
  });
});
