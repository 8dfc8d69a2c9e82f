// Inpainting with the bundled model (a UNet without mask inputs, so latent blending): held-out
// prompts asked into a plain canvas of their background colour, the mask being the asked object's
// 3×3 cell. Outside the mask every pixel must be the canvas's own, byte for byte; inside, the
// scene scorer must find the asked object in its cell (issue 16: ≥ 80% of held-out prompts).
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { cropRegion } from '../src/inpaint/crop-region.ts';
import { latentMask } from '../src/inpaint/latent-mask.ts';
import { readMask } from '../src/inpaint/mask-image.ts';
import { fillMasked } from '../src/inpaint/masked-content.ts';
import { pasteBack } from '../src/inpaint/paste-back.ts';
import { checkGenerateRequest, RequestError } from '../src/pipeline/check-request.ts';
import { denoiseStep, isFinished } from '../src/pipeline/denoise.ts';
import { encodeRequestPrompts, generate, prepareImages } from '../src/pipeline/generate.ts';
import { defaultSchedulerFor } from '../src/pipeline/scheduler-defaults.ts';
import { TextEncoderCache } from '../src/pipeline/text-encoder-cache.ts';
import { BUNDLED_MODEL, model, request } from './support/models.ts';
import { HELD_OUT, type HeldOutCase, POSITIONS, rgbOf, scoreImage } from './support/scene-score.ts';

const SIZE = 64;

const png = (rgb: Uint8Array, channels: 1 | 3 | 4 = 3) =>
  sharp(rgb, { raw: { width: SIZE, height: SIZE, channels } })
    .png()
    .toBuffer();

function plainCanvas(colour: readonly number[]): Uint8Array {
  const rgb = new Uint8Array(SIZE * SIZE * 3);
  for (let i = 0; i < SIZE * SIZE; i++) rgb.set(colour, i * 3);
  return rgb;
}

/** White (255) inside the case's cell, numpy's [i·size//3 : (i+1)·size//3] as the scorer slices it. */
function cellMask(c: HeldOutCase): Uint8Array {
  const [col, row] = POSITIONS[c.position];
  const inCell = (v: number, i: number) =>
    v >= Math.floor((i * SIZE) / 3) && v < Math.floor(((i + 1) * SIZE) / 3);
  const mask = new Uint8Array(SIZE * SIZE);
  for (let y = 0; y < SIZE; y++)
    for (let x = 0; x < SIZE; x++) if (inCell(y, row) && inCell(x, col)) mask[y * SIZE + x] = 255;
  return mask;
}

describe('inpainting math', () => {
  it('pastes the init pixels back exactly where the mask is 0 and mixes on the blurred edge', () => {
    const init = Uint8Array.from([10, 20, 30, 40, 50, 60, 70, 80, 90]);
    const generated = Uint8Array.from([200, 200, 200, 100, 100, 100, 0, 0, 0]);
    const out = pasteBack(init, generated, Float32Array.from([0, 0.5, 1]));
    expect([...out]).toEqual([10, 20, 30, 70, 75, 80, 0, 0, 0]);
  });

  it('repaints a latent block when any of its pixels is at least half repainted', () => {
    const mask = new Float32Array(16 * 16);
    mask[9 * 16 + 3] = 0.5; // one pixel in block (row 1, col 0)
    mask[2 * 16 + 12] = 0.49; // below half: block (0, 1) stays
    expect([...latentMask(mask, 16, 16)]).toEqual([0, 0, 1, 0]);
  });

  it('crops "only masked" to the mask box plus padding, at the output aspect, inside the picture', () => {
    const mask = new Float32Array(64 * 32);
    for (let y = 4; y < 8; y++) for (let x = 60; x < 62; x++) mask[y * 64 + x] = 1;
    // box x 60..61, y 4..7, padded by 4: x 56..63 (clamped), y 0..11; widened to 2:1 → 24 × 12.
    expect(cropRegion(mask, 64, 32, 4)).toEqual({ x: 40, y: 0, width: 24, height: 12 });
  });

  it('fills the masked pixels with the mean kept colour', () => {
    const rgb = Uint8Array.from([0, 0, 0, 100, 50, 0, 9, 9, 9]);
    expect([...fillMasked(rgb, Float32Array.from([0, 0, 1]))]).toEqual([0, 0, 0, 100, 50, 0, 50, 25, 0]);
  });

  it('reads white-on-black masks, alpha masks (transparent = repaint), and inverts either', async () => {
    const grey = new Uint8Array(SIZE * SIZE);
    grey.fill(255, 0, SIZE * 8); // top 8 rows white
    const rgba = new Uint8Array(SIZE * SIZE * 4).fill(255);
    for (let i = 0; i < SIZE * 8; i++) rgba[i * 4 + 3] = 0; // top 8 rows transparent
    const white = await readMask(await png(grey, 1), SIZE, SIZE, { source: 'luminance' });
    const alpha = await readMask(await png(rgba, 4), SIZE, SIZE, { source: 'alpha' });
    const inverted = await readMask(await png(grey, 1), SIZE, SIZE, { source: 'luminance', invert: true });
    for (const m of [white, alpha]) {
      expect(m[0]).toBe(1);
      expect(m[SIZE * 8]).toBe(0);
    }
    expect([inverted[0], inverted[SIZE * 8]]).toEqual([0, 1]);
    const blurred = await readMask(await png(grey, 1), SIZE, SIZE, { source: 'luminance', blur: 2 });
    const edge = blurred[SIZE * 8]; // first kept row, next to the white band
    expect(edge).toBeGreaterThan(0);
    expect(edge).toBeLessThan(0.5);
    expect(blurred[SIZE * 40]).toBe(0); // far from the edge: untouched
  });
});

describe('inpainting with the bundled model', () => {
  it('keeps every pixel outside the mask and draws the asked object inside for ≥ 80% of held-out prompts', async () => {
    const m = await model(BUNDLED_MODEL);
    const scheduler = defaultSchedulerFor(m.folder.schedulerClass);
    let objects = 0;
    let keptPixels = 0;
    let outsidePixels = 0;
    for (const [i, c] of HELD_OUT.prompts.entries()) {
      const canvas = plainCanvas(HELD_OUT.colors[c.background]);
      const mask = cellMask(c);
      const result = await generate(
        m,
        request(m, {
          text: c.prompt,
          steps: 20,
          guidanceScale: 7.5,
          scheduler,
          seeds: [4000 + i],
          initImage: new Uint8Array(await png(canvas)),
          strength: 1,
          inpaint: { mask: new Uint8Array(await png(mask, 1)), source: 'luminance' },
        }),
      );
      const rgb = await rgbOf(result.images[0].bytes);
      for (let p = 0; p < SIZE * SIZE; p++) {
        if (mask[p]) continue;
        outsidePixels++;
        if (rgb.subarray(p * 3, p * 3 + 3).every((v, k) => v === canvas[p * 3 + k])) keptPixels++;
      }
      if (scoreImage(rgb, SIZE, c).object) objects++;
    }
    const total = HELD_OUT.prompts.length;
    console.log(
      `[inpaint] object in its cell ${objects}/${total}; pixels outside the mask kept ${keptPixels}/${outsidePixels}`,
    );
    expect(keptPixels).toBe(outsidePixels);
    expect(objects / total).toBeGreaterThanOrEqual(0.8);
  });

  it('ends the denoise loop with the init latent itself outside the latent mask, for any scheduler', async () => {
    const m = await model(BUNDLED_MODEL);
    const c = HELD_OUT.prompts[0];
    for (const scheduler of ['ddim', 'euler', 'dpmpp_2m', 'heun'] as const) {
      const asked = request(m, {
        text: c.prompt,
        steps: 6,
        scheduler,
        initImage: new Uint8Array(await png(plainCanvas(HELD_OUT.colors[c.background]))),
        strength: 0.8,
        inpaint: { mask: new Uint8Array(await png(cellMask(c), 1)), source: 'luminance' },
      });
      const [image] = await prepareImages(
        m,
        asked,
        await encodeRequestPrompts(m, asked, new TextEncoderCache()),
      );
      const inpaint = image.keep;
      if (!inpaint) throw new Error('no inpainting state');
      while (!isFinished(image)) await denoiseStep([image], (input) => m.predictNoise(input));
      const area = inpaint.mask.length;
      const outside = [...image.latents.keys()].filter((i) => inpaint.mask[i % area] === 0);
      const inside = [...image.latents.keys()].filter((i) => inpaint.mask[i % area] === 1);
      expect(outside.length).toBeGreaterThan(0);
      expect(outside.every((i) => image.latents[i] === inpaint.clean[i])).toBe(true);
      // …while the masked blocks were denoised from the prompt, not kept.
      expect(inside.some((i) => image.latents[i] !== inpaint.clean[i])).toBe(true);
    }
  });

  it('inpaints "only masked" at full resolution and still keeps every pixel outside the mask', async () => {
    const m = await model(BUNDLED_MODEL);
    const c = HELD_OUT.prompts.find((p) => p.position === 'top-left') ?? HELD_OUT.prompts[0];
    const canvas = plainCanvas(HELD_OUT.colors[c.background]);
    const mask = cellMask(c);
    const run = async (onlyMasked: boolean) => {
      const result = await generate(
        m,
        request(m, {
          text: c.prompt,
          steps: 8,
          scheduler: 'ddim',
          seeds: [77],
          initImage: new Uint8Array(await png(canvas)),
          strength: 1,
          inpaint: {
            mask: new Uint8Array(await png(mask, 1)),
            source: 'luminance',
            onlyMasked,
            onlyMaskedPadding: 4,
          },
        }),
      );
      return rgbOf(result.images[0].bytes);
    };
    const [whole, cropped] = [await run(false), await run(true)];
    const outside = [...mask.keys()].filter((p) => mask[p] === 0);
    for (const p of outside)
      expect([...cropped.subarray(p * 3, p * 3 + 3)]).toEqual([...canvas.subarray(p * 3, p * 3 + 3)]);
    // The cell was drawn from another (upscaled) picture, so it differs from the whole-picture run.
    const inside = [...mask.keys()].filter((p) => mask[p] === 255);
    expect(
      inside.some((p) => cropped[p * 3] !== whole[p * 3] || cropped[p * 3 + 1] !== whole[p * 3 + 1]),
    ).toBe(true);
  });

  it('outpaints: the init image unchanged at its place on the larger canvas, the border drawn', async () => {
    const m = await model(BUNDLED_MODEL);
    // A 32 × 64 picture of the model's own, extended 32 px to the right into a 64 × 64 canvas.
    const source = await generate(
      m,
      request(m, { text: 'a red circle on the left on a blue background', width: 32, steps: 8, seeds: [3] }),
    );
    const init = await rgbOf(source.images[0].bytes);
    const result = await generate(
      m,
      request(m, {
        text: 'a blue background',
        steps: 8,
        scheduler: 'ddim',
        seeds: [9],
        initImage: source.images[0].bytes,
        strength: 1,
        outpaint: { left: 0, right: 32, top: 0, bottom: 0 },
      }),
    );
    expect(result.images[0]).toMatchObject({ width: 64, height: 64 });
    const out = await rgbOf(result.images[0].bytes);
    let kept = 0;
    for (let y = 0; y < 64; y++)
      for (let x = 0; x < 32; x++)
        if ([0, 1, 2].every((k) => out[(y * 64 + x) * 3 + k] === init[(y * 32 + x) * 3 + k])) kept++;
    expect(kept).toBe(32 * 64);
    // The border is not the stretched edge column it started from.
    let stretched = 0;
    for (let y = 0; y < 64; y++)
      for (let x = 32; x < 64; x++)
        if ([0, 1, 2].every((k) => out[(y * 64 + x) * 3 + k] === init[(y * 32 + 31) * 3 + k])) stretched++;
    expect(stretched).toBeLessThan(32 * 64);
  });

  it('refuses outpainting without an init image, with no extension, or with no room left', async () => {
    const m = await model(BUNDLED_MODEL);
    const init = new Uint8Array(await png(plainCanvas([0, 0, 255])));
    const cases = [
      { outpaint: { left: 8, right: 0, top: 0, bottom: 0 } },
      { initImage: init, strength: 1, outpaint: { left: 0, right: 0, top: 0, bottom: 0 } },
      { initImage: init, strength: 1, outpaint: { left: 32, right: 32, top: 0, bottom: 0 } },
      { initImage: init, strength: 1, outpaint: { left: -8, right: 16, top: 0, bottom: 0 } },
    ];
    for (const fields of cases) {
      expect(() => checkGenerateRequest(m, request(m, fields))).toThrow(RequestError);
    }
  });

  it('refuses a mask that repaints nothing, naming the field', async () => {
    const m = await model(BUNDLED_MODEL);
    const black = new Uint8Array(await png(new Uint8Array(SIZE * SIZE), 1));
    const canvas = new Uint8Array(await png(plainCanvas([0, 0, 255])));
    const asked = request(m, {
      initImage: canvas,
      strength: 1,
      inpaint: { mask: black, source: 'luminance' },
    });
    await expect(generate(m, asked)).rejects.toThrow(RequestError);
    await expect(generate(m, asked)).rejects.toMatchObject({ field: 'mask' });
  });
});
