// The SDXL path on the tiny SDXL-layout fixtures: two text encoders whose penultimate hidden
// states are joined along the features, the pooled `text_embeds` of the second, `time_ids`, the
// zeroed empty negative prompt, long prompts, and every export variant (int32/int64 ids, scalar
// timestep, float16 graphs). What the UNet receives is checked against the fixture's own graphs
// run bare in onnxruntime, not against this pipeline's output.
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InferenceSession, Tensor } from 'onnxruntime-node';
import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';
import type { DiffusionModel, UnetInput } from '../src/model/diffusion-model.ts';
import { loadDiffusionModel } from '../src/model/diffusion-model.ts';
import { float16ToFloat32 } from '../src/model/float16.ts';
import { ModelFolderError } from '../src/model/model-folder.ts';
import { checkGenerateRequest, RequestError } from '../src/pipeline/check-request.ts';
import { generate } from '../src/pipeline/generate.ts';
import { TextEncoderCache } from '../src/pipeline/text-encoder-cache.ts';
import { FIXTURES, model, request } from './support/models.ts';

const SDXL = join(FIXTURES, 'sdxl');
const SDXL_VARIANTS = ['sdxl', 'sdxl-int64', 'sdxl-fp16'] as const;

/** The model with its UNet calls recorded. */
function recording(m: DiffusionModel): { model: DiffusionModel; calls: UnetInput[] } {
  const calls: UnetInput[] = [];
  return {
    calls,
    model: {
      ...m,
      predictNoise: (input) => {
        calls.push({ ...input, sample: input.sample.slice() });
        return m.predictNoise(input);
      },
    },
  };
}

function floats(tensor: Tensor): Float32Array {
  return tensor.type === 'float16'
    ? float16ToFloat32(tensor.data as Uint16Array)
    : Float32Array.from(tensor.data as Float32Array);
}

/** Runs a fixture's text encoder graph directly: every output, by name. */
async function bareEncoder(graph: string, ids: readonly number[]): Promise<Record<string, Float32Array>> {
  const session = await InferenceSession.create(join(SDXL, graph, 'model.onnx'));
  try {
    const input = session.inputMetadata.find((m) => m.name === 'input_ids');
    const type = input?.isTensor ? input.type : 'int32';
    const data = type === 'int64' ? BigInt64Array.from(ids, BigInt) : Int32Array.from(ids);
    const out = await session.run({ input_ids: new Tensor(type as 'int32', data, [1, ids.length]) });
    return Object.fromEntries(Object.entries(out).map(([k, v]) => [k, floats(v)]));
  } finally {
    await session.release();
  }
}

function penultimate(outputs: Record<string, Float32Array>): Float32Array {
  const last = Math.max(
    ...Object.keys(outputs)
      .filter((k) => k.startsWith('hidden_states.'))
      .map((k) => Number(k.slice('hidden_states.'.length))),
  );
  return outputs[`hidden_states.${last - 1}`];
}

/** Row r of [rows, width] */
const row = (values: Float32Array, r: number, width: number) => values.subarray(r * width, (r + 1) * width);

function expectClose(actual: Float32Array, expected: Float32Array, tolerance = 1e-6) {
  expect(actual.length).toBe(expected.length);
  let worst = 0;
  for (let i = 0; i < actual.length; i++) worst = Math.max(worst, Math.abs(actual[i] - expected[i]));
  expect(worst).toBeLessThanOrEqual(tolerance);
}

describe('SDXL model layout', () => {
  it('reads two text encoders, the pooled output and the size conditioning from the graphs', async () => {
    const m = await model(SDXL);
    const [first, second] = m.spec.textEncoders;
    expect(m.spec.textEncoders).toHaveLength(2);
    expect(first.hiddenOutput).toMatch(/^hidden_states\.\d+$/);
    expect(second.hiddenOutput).toMatch(/^hidden_states\.\d+$/);
    expect(first.pooledOutput).toBeUndefined();
    expect(second.pooledOutput).toBe('text_embeds');
    expect(first.hiddenSize).not.toBe(second.hiddenSize);
    expect(m.spec.hiddenSize).toBe(first.hiddenSize + second.hiddenSize);
    expect(m.spec.pooledSize).toBeGreaterThan(0);
    expect(m.spec.timeIdsSize).toBe(6);
    // SDXL's second tokenizer is OpenCLIP's: it pads with "!" (id 0), the first with <|endoftext|>.
    expect(m.textEncoders[0].tokenizer.pad).toBe(m.textEncoders[0].tokenizer.eos);
    expect(m.textEncoders[1].tokenizer.pad).toBe(0);
    expect(m.folder.forceZerosForEmptyPrompt).toBe(true);
    expect(m.folder.vaeScalingFactor).toBeCloseTo(0.13025, 6);
  });

  it.each(SDXL_VARIANTS)('%s: txt2img and img2img make PNGs of the asked size', async (variant) => {
    const m = await model(join(FIXTURES, variant));
    const text = await generate(m, request(m, { width: 96, height: 64 }));
    const { info } = await sharp(text.images[0].bytes).raw().toBuffer({ resolveWithObject: true });
    expect([info.width, info.height]).toEqual([96, 64]);
    const init = await generate(
      m,
      request(m, { width: 96, height: 64, initImage: text.images[0].bytes, strength: 0.5 }),
    );
    expect(init.images[0].bytes.length).toBeGreaterThan(0);
    expect(Buffer.from(init.images[0].bytes).equals(Buffer.from(text.images[0].bytes))).toBe(false);
  });
});

describe('SDXL conditioning', () => {
  it('joins both encoders’ penultimate states and feeds the second’s text_embeds and the time_ids', async () => {
    const base = await model(SDXL);
    const { model: m, calls } = recording(base);
    const req = request(m, { text: 'a red circle', negative: 'blue', width: 96, height: 64, steps: 1 });
    await generate(m, req, new TextEncoderCache());
    const [call] = calls;
    expect(call.batch).toBe(2);
    const [w1, w2] = base.spec.textEncoders.map((e) => e.hiddenSize);
    const width = w1 + w2;
    for (const [r, source] of [req.negativePrompt, req.prompt].entries()) {
      const one = await bareEncoder('text_encoder', source.chunks[0].ids);
      const two = await bareEncoder('text_encoder_2', source.chunks2?.[0].ids ?? []);
      const rows = call.hiddenStates.subarray(r * 77 * width, (r + 1) * 77 * width);
      for (const t of [0, 1, 5, 76]) {
        const token = row(rows, t, width);
        expectClose(token.subarray(0, w1), row(penultimate(one), t, w1));
        expectClose(token.subarray(w1), row(penultimate(two), t, w2));
      }
      expectClose(row(call.textEmbeds as Float32Array, r, base.spec.pooledSize), two.text_embeds);
    }
    expect([...(call.timeIds as Float32Array)]).toEqual([64, 96, 0, 0, 64, 96, 64, 96, 0, 0, 64, 96]);
  });

  it('conditions an empty negative prompt on zeros (force_zeros_for_empty_prompt)', async () => {
    const { model: m, calls } = recording(await model(SDXL));
    await generate(m, request(m, { negative: '', steps: 1 }), new TextEncoderCache());
    const { hiddenStates, textEmbeds, sequenceLength } = calls[0];
    const width = m.spec.hiddenSize;
    expect(hiddenStates.subarray(0, sequenceLength * width).every((v) => v === 0)).toBe(true);
    expect(hiddenStates.subarray(sequenceLength * width).some((v) => v !== 0)).toBe(true);
    const pooled = m.spec.pooledSize;
    expect((textEmbeds as Float32Array).subarray(0, pooled).every((v) => v === 0)).toBe(true);
    expect((textEmbeds as Float32Array).subarray(pooled).some((v) => v !== 0)).toBe(true);
  });

  it('encodes an empty negative prompt when the model does not ask for zeros', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sdxl-no-zeros-'));
    try {
      cpSync(SDXL, dir, { recursive: true });
      const index = join(dir, 'model_index.json');
      const { readFileSync, writeFileSync } = await import('node:fs');
      const config = JSON.parse(readFileSync(index, 'utf8'));
      writeFileSync(index, JSON.stringify({ ...config, force_zeros_for_empty_prompt: false }));
      const loaded = await loadDiffusionModel(dir, { providers: ['cpu'], intraOpThreads: 1 });
      const { model: m, calls } = recording(loaded);
      await generate(m, request(m, { negative: '', steps: 1 }), new TextEncoderCache());
      const width = m.spec.hiddenSize;
      expect(calls[0].hiddenStates.subarray(0, 77 * width).some((v) => v !== 0)).toBe(true);
      await loaded.release();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it.each(['sdxl-turbo', 'sd-turbo'])(
    '%s: one UNet row per image without guidance, from t = 999',
    async (name) => {
      const { model: m, calls } = recording(await model(join(FIXTURES, name)));
      const result = await generate(m, request(m, { guidanceScale: 0, steps: 1 }), new TextEncoderCache());
      expect(calls.map((c) => c.batch)).toEqual([1]);
      // Trailing spacing (the Turbo models' scheduler config): one step starts from t = 999.
      expect(calls[0].timesteps).toEqual([999]);
      expect(result.negativeEmbedding).toBeUndefined();
    },
  );

  it('takes a long prompt as concatenated chunks with the first chunk’s pooled embedding', async () => {
    const base = await model(SDXL);
    const { model: m, calls } = recording(base);
    const long = Array.from({ length: 40 }, () => 'red circle,').join(' ');
    const req = request(m, { text: long, negative: 'blue', steps: 1 });
    expect(req.prompt.chunks).toHaveLength(2);
    expect(req.prompt.chunks2).toHaveLength(2);
    await generate(m, req, new TextEncoderCache());
    expect(calls[0].sequenceLength).toBe(154);
    const two = await bareEncoder('text_encoder_2', req.prompt.chunks2?.[0].ids ?? []);
    expectClose(row(calls[0].textEmbeds as Float32Array, 1, base.spec.pooledSize), two.text_embeds);
  });

  it('applies prompt weights to each encoder’s share and changes the image', async () => {
    const m = await model(SDXL);
    const plain = await generate(m, request(m, { text: 'a red circle' }));
    const weighted = await generate(m, request(m, { text: 'a (red:1.4) circle' }));
    expect(Buffer.from(plain.images[0].bytes).equals(Buffer.from(weighted.images[0].bytes))).toBe(false);
  });

  it('returns embeddings with the pooled values appended, and gives the same image from them', async () => {
    const m = await model(SDXL);
    const first = await generate(
      m,
      request(m, { text: 'a blue square', negative: 'red' }),
      new TextEncoderCache(),
    );
    expect(first.promptEmbedding.length).toBe(77 * m.spec.hiddenSize + m.spec.pooledSize);
    const given = request(m, { text: 'a blue square', negative: 'red' });
    given.prompt.embedding = first.promptEmbedding;
    given.negativePrompt.embedding = first.negativeEmbedding;
    const again = await generate(m, given, new TextEncoderCache());
    expect(again.embeddingsFromCache).toBe(true);
    expect(Buffer.from(again.images[0].bytes).equals(Buffer.from(first.images[0].bytes))).toBe(true);
  });
});

describe('SDXL requests and folders that cannot work', () => {
  const dirs: string[] = [];
  afterAll(() => {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });
  const copy = (without: string[]) => {
    const dir = mkdtempSync(join(tmpdir(), 'sdxl-bad-'));
    dirs.push(dir);
    cpSync(SDXL, dir, { recursive: true, filter: (src) => !without.some((part) => src.endsWith(part)) });
    return dir;
  };
  const load = (dir: string) => loadDiffusionModel(dir, { providers: ['cpu'], intraOpThreads: 1 });

  it('refuses a request without chunks for the second encoder, naming it', async () => {
    const m = await model(SDXL);
    const req = request(m);
    req.prompt = { chunks: req.prompt.chunks };
    expect(() => checkGenerateRequest(m, req)).toThrow(RequestError);
    expect(() => checkGenerateRequest(m, req)).toThrow(/prompt\.chunks_2/);
  });

  it('fails a float16 VAE decode that overflows with a message, never a black image', async () => {
    const m = await model(join(FIXTURES, 'sdxl-fp16'));
    const latents = new Float32Array(m.spec.latentChannels * 8 * 8).fill(1e6); // beyond float16's 65504
    await expect(m.decodeLatents(latents, 1, 8, 8)).rejects.toThrow(/float16 VAE decoder overflowed/);
  });

  it('names a missing second tokenizer', async () => {
    await expect(load(copy(['tokenizer_2']))).rejects.toThrow(/tokenizer_2\/vocab\.json/);
  });

  it('names a UNet that takes text_embeds without a second text encoder', async () => {
    const error = await load(copy(['text_encoder_2'])).catch((e) => e);
    expect(error).toBeInstanceOf(ModelFolderError);
    expect(error.message).toMatch(/text_embeds.*no text_encoder_2/);
  });
});
