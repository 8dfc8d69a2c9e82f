// Inpainting UNets (9 input channels: latent, mask, masked image's latent), on two random-weight
// fixtures built from the same draws (infra/model/fixtures.py): `inpainting`, and
// `inpainting-base`, the same UNet without the extra inputs (conv_in's latent channels only).
// A third copy, `inpainting` with the extra channels' conv_in weights zeroed, is made here: it
// must compute exactly what the base UNet computes, whatever the extra channels hold.
import { cp, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';
import { decodeImage } from '../src/image/image-codec.ts';
import { rgbToPlanes } from '../src/image/pixels.ts';
import { readGraphLayout } from '../src/lora/onnx-initializers.ts';
import { type DiffusionModel, loadDiffusionModel, type UnetInput } from '../src/model/diffusion-model.ts';
import { createSession } from '../src/model/onnx-session.ts';
import { denoiseStep, isFinished } from '../src/pipeline/denoise.ts';
import {
  encodeRequestPrompts,
  type GenerateRequest,
  generate,
  prepareImages,
} from '../src/pipeline/generate.ts';
import { TextEncoderCache } from '../src/pipeline/text-encoder-cache.ts';
import { FIXTURES, model, request } from './support/models.ts';

const INPAINTING = join(FIXTURES, 'inpainting');
const BASE = join(FIXTURES, 'inpainting-base');
const SIZE = 64;
const LATENT = SIZE / 8;

/** Every UNet call's input, while the model runs as it would. */
function recording(m: DiffusionModel): { model: DiffusionModel; calls: UnetInput[] } {
  const calls: UnetInput[] = [];
  const predictNoise = (input: UnetInput) => {
    calls.push({ ...input, sample: Float32Array.from(input.sample) });
    return m.predictNoise(input);
  };
  return { model: { ...m, predictNoise }, calls };
}

/** The inpainting model with conv_in's weights for the mask and masked latent set to 0. */
async function blindedInpaintingModel(m: DiffusionModel): Promise<DiffusionModel> {
  const bytes = new Uint8Array(await readFile(join(INPAINTING, 'unet/model.onnx')));
  const layout = readGraphLayout(bytes);
  const convIn = [...layout.initializers.values()].find((i) => i.dims.length === 4 && i.dims[1] === 9);
  if (convIn?.data.location !== 'raw') throw new Error('no inline 9-channel conv_in weight');
  const [out, inputs, kh, kw] = convIn.dims;
  const weights = new Float32Array(
    bytes.slice(convIn.data.offset, convIn.data.offset + convIn.data.length).buffer,
  );
  for (let o = 0; o < out; o++)
    for (let c = 4; c < inputs; c++)
      weights.fill(0, (o * inputs + c) * kh * kw, (o * inputs + c + 1) * kh * kw);
  bytes.set(new Uint8Array(weights.buffer), convIn.data.offset);
  const { session } = await createSession(bytes, { providers: ['cpu'], intraOpThreads: 1 });
  return m.withSessions({ unet: session }, { key: 'blinded', loras: [] });
}

/** A 64×64 picture with structure (a gradient and a block), so its latent is not flat. */
async function picture(): Promise<Uint8Array> {
  const rgb = new Uint8Array(SIZE * SIZE * 3);
  for (let y = 0; y < SIZE; y++)
    for (let x = 0; x < SIZE; x++) {
      const at = (y * SIZE + x) * 3;
      rgb.set([x * 4, y * 4, x > 40 && y > 36 ? 230 : 30], at);
    }
  return new Uint8Array(
    await sharp(rgb, { raw: { width: SIZE, height: SIZE, channels: 3 } })
      .png()
      .toBuffer(),
  );
}

/** White (repaint) on latent blocks x 2–4, y 1–3: pixels 16–39 × 8–31. */
const REPAINTED = (x: number, y: number) => x >= 16 && x < 40 && y >= 8 && y < 32;

async function mask(): Promise<Uint8Array> {
  const grey = new Uint8Array(SIZE * SIZE);
  for (let y = 0; y < SIZE; y++) for (let x = 0; x < SIZE; x++) if (REPAINTED(x, y)) grey[y * SIZE + x] = 255;
  return new Uint8Array(
    await sharp(grey, { raw: { width: SIZE, height: SIZE, channels: 1 } })
      .png()
      .toBuffer(),
  );
}

async function inpaintRequest(
  m: DiffusionModel,
  overrides: Partial<GenerateRequest> = {},
): Promise<GenerateRequest> {
  return request(m, {
    width: SIZE,
    height: SIZE,
    steps: 5,
    scheduler: 'ddim',
    seeds: [11],
    initImage: await picture(),
    strength: 0.75,
    inpaint: { mask: await mask(), source: 'luminance', blur: 0 },
    ...overrides,
  });
}

async function rgbOf(bytes: Uint8Array): Promise<Uint8Array> {
  return decodeImage(bytes, SIZE, SIZE);
}

const temp: string[] = [];
afterAll(async () => {
  for (const dir of temp) await rm(dir, { recursive: true, force: true });
});

describe('inpainting UNets', () => {
  it('are read from the UNet input shape: 9 channels in, 4 latent channels out', async () => {
    const inpainting = await model(INPAINTING);
    expect(inpainting.spec.unetInputChannels).toBe(9);
    expect(inpainting.spec.latentChannels).toBe(4);
    const base = await model(BASE);
    expect(base.spec.unetInputChannels).toBe(4);
    expect(base.spec.latentChannels).toBe(4);
  });

  it('refuses a folder whose inpainting UNet has no VAE encoder to encode the masked image', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'inpainting-'));
    temp.push(dir);
    await cp(INPAINTING, dir, { recursive: true });
    await rm(join(dir, 'vae_encoder'), { recursive: true });
    await expect(loadDiffusionModel(dir, { providers: ['cpu'], intraOpThreads: 1 })).rejects.toThrow(
      /inpainting one .* no vae_encoder/,
    );
  });

  it('feed the UNet the latent, then the latent mask, then the masked image latent, on every row', async () => {
    const inpainting = await model(INPAINTING);
    const base = await model(BASE);
    const seen = recording(inpainting);
    const plain = recording(base);
    await generate(seen.model, await inpaintRequest(inpainting));
    await generate(plain.model, await inpaintRequest(base));

    const area = LATENT * LATENT;
    const expectedMask = new Float32Array(area);
    for (let y = 0; y < LATENT; y++)
      for (let x = 0; x < LATENT; x++) expectedMask[y * LATENT + x] = REPAINTED(x * 8, y * 8) ? 1 : 0;
    // The masked image: the init picture with the repainted pixels at 0 (mid-grey) in [-1, 1].
    const planes = rgbToPlanes(await rgbOf(await picture()), SIZE, SIZE);
    for (let c = 0; c < 3; c++)
      for (let y = 0; y < SIZE; y++)
        for (let x = 0; x < SIZE; x++) if (REPAINTED(x, y)) planes[c * SIZE * SIZE + y * SIZE + x] = 0;
    const encoded = await inpainting.encodeImage(planes, SIZE, SIZE);
    if (!('mean' in encoded)) throw new Error('the fixture VAE encoder returns latent_parameters');
    const scale = inpainting.folder.vaeScalingFactor;

    expect(seen.calls).toHaveLength(plain.calls.length);
    const first = seen.calls[0];
    expect(first.batch).toBe(2); // guided: [uncond, cond]
    expect(first.sample).toHaveLength(first.batch * 9 * area);
    for (let row = 0; row < first.batch; row++) {
      const at = row * 9 * area;
      // The latent first: what the plain UNet got for the same seed and schedule.
      expect(first.sample.subarray(at, at + 4 * area)).toEqual(
        plain.calls[0].sample.subarray(row * 4 * area, (row + 1) * 4 * area),
      );
      expect(first.sample.subarray(at + 4 * area, at + 5 * area)).toEqual(expectedMask);
      const latent = first.sample.subarray(at + 5 * area, at + 9 * area);
      for (let i = 0; i < latent.length; i++) expect(latent[i]).toBeCloseTo(encoded.mean[i] * scale, 5);
    }
    // The condition stays the same through the loop while the latent changes.
    const last = seen.calls.at(-1) as UnetInput;
    expect(last.sample.subarray(4 * area, 9 * area)).toEqual(first.sample.subarray(4 * area, 9 * area));
    expect(last.sample.subarray(0, 4 * area)).not.toEqual(first.sample.subarray(0, 4 * area));
  });

  it('with the extra inputs blinded, inpaint as the plain UNet repaints, unblended, pasted back', async () => {
    const blinded = await blindedInpaintingModel(await model(INPAINTING));
    const base = await model(BASE);
    const [inpainted] = (await generate(blinded, await inpaintRequest(blinded))).images;
    // The plain UNet's img2img of the whole picture (no mask: no latents put back during the loop).
    const [repainted] = (await generate(base, await inpaintRequest(base, { inpaint: undefined }))).images;
    const init = await rgbOf(await picture());
    const got = await rgbOf(inpainted.bytes);
    const whole = await rgbOf(repainted.bytes);
    let inside = 0;
    let maxDiff = 0;
    for (let y = 0; y < SIZE; y++)
      for (let x = 0; x < SIZE; x++)
        for (let c = 0; c < 3; c++) {
          const i = (y * SIZE + x) * 3 + c;
          if (!REPAINTED(x, y)) expect(got[i]).toBe(init[i]);
          else {
            inside++;
            maxDiff = Math.max(maxDiff, Math.abs(got[i] - whole[i]));
          }
        }
    expect(inside).toBe(24 * 24 * 3);
    // Zero weights add exact zeros; 1 level allows a different float summation order in conv_in.
    expect(maxDiff).toBeLessThanOrEqual(1);
  });

  it('repaint differently when the UNet sees the mask and masked image, and keep every pixel outside', async () => {
    const inpainting = await model(INPAINTING);
    const blinded = await blindedInpaintingModel(inpainting);
    const [seeing] = (await generate(inpainting, await inpaintRequest(inpainting))).images;
    const [blind] = (await generate(blinded, await inpaintRequest(blinded))).images;
    const init = await rgbOf(await picture());
    const a = await rgbOf(seeing.bytes);
    const b = await rgbOf(blind.bytes);
    let changed = 0;
    for (let y = 0; y < SIZE; y++)
      for (let x = 0; x < SIZE; x++)
        for (let c = 0; c < 3; c++) {
          const i = (y * SIZE + x) * 3 + c;
          if (!REPAINTED(x, y)) expect(a[i]).toBe(init[i]);
          else if (a[i] !== b[i]) changed++;
        }
    expect(changed).toBeGreaterThan(0);
  });

  it('run txt2img with the whole picture masked and a blank masked image, as A1111 does', async () => {
    const inpainting = await model(INPAINTING);
    const seen = recording(inpainting);
    const result = await generate(seen.model, request(inpainting, { width: SIZE, height: SIZE, steps: 2 }));
    expect(result.images).toHaveLength(1);
    const area = LATENT * LATENT;
    const blank = await inpainting.encodeImage(new Float32Array(3 * SIZE * SIZE), SIZE, SIZE);
    if (!('mean' in blank)) throw new Error('the fixture VAE encoder returns latent_parameters');
    const scale = inpainting.folder.vaeScalingFactor;
    for (const call of seen.calls) {
      for (let row = 0; row < call.batch; row++) {
        const at = row * 9 * area;
        expect([...call.sample.subarray(at + 4 * area, at + 5 * area)].every((v) => v === 1)).toBe(true);
        const latent = call.sample.subarray(at + 5 * area, at + 9 * area);
        for (let i = 0; i < latent.length; i++) expect(latent[i]).toBeCloseTo(blank.mean[i] * scale, 5);
      }
    }
  });
  it('batch images of different masks into one UNet call, each with its own condition', async () => {
    const inpainting = await model(INPAINTING);
    const asked = [
      await inpaintRequest(inpainting),
      // The other half of the picture repainted, another seed, unguided.
      await inpaintRequest(inpainting, {
        seeds: [12],
        guidanceScale: 1,
        inpaint: { mask: await mask(), source: 'luminance', blur: 0, invert: true },
      }),
    ];
    const prepare = async () =>
      (
        await Promise.all(
          asked.map(async (r) =>
            prepareImages(inpainting, r, await encodeRequestPrompts(inpainting, r, new TextEncoderCache())),
          ),
        )
      ).flat();
    const together = await prepare();
    while (!isFinished(together[0])) await denoiseStep(together, (input) => inpainting.predictNoise(input));
    const alone = await prepare();
    for (const image of alone)
      while (!isFinished(image)) await denoiseStep([image], (input) => inpainting.predictNoise(input));
    expect(together[0].unetCondition).not.toEqual(together[1].unetCondition);
    for (const [i, image] of together.entries()) {
      const solo = alone[i].latents;
      let maxDiff = 0;
      for (let j = 0; j < solo.length; j++) maxDiff = Math.max(maxDiff, Math.abs(image.latents[j] - solo[j]));
      // Batched rows run the same convolutions; onnxruntime may split the work differently.
      expect(maxDiff).toBeLessThan(1e-5);
    }
  });
});
