// The pipeline's pure pieces, against values worked by hand.
import { describe, expect, it } from 'vitest';
import { decodedToRgb, rgbToPlanes } from '../src/image/pixels.ts';
import { addPngText, readPngText } from '../src/image/png-text.ts';
import { float16ToFloat32, float32ToFloat16, fromFloat16Bits, toFloat16Bits } from '../src/model/float16.ts';
import { applyGuidance, guidanceScaleEmbedding, usesGuidance } from '../src/pipeline/guidance.ts';
import { applyEmphasis, padToChunks } from '../src/pipeline/prompt-embeddings.ts';

describe('prompt emphasis (A1111 sd_hijack_clip.py process_tokens)', () => {
  it('scales each token then restores the chunk mean', () => {
    // Two tokens × two dims: [[1, 3], [2, 2]]; mean 2. Weights 1 and 2 → [[1, 3], [4, 4]], mean 3;
    // rescale by 2/3 → [[2/3, 2], [8/3, 8/3]].
    const hidden = new Float32Array([1, 3, 2, 2]);
    applyEmphasis(hidden, [1, 2]);
    expect([...hidden]).toEqual([2 / 3, 2, 8 / 3, 8 / 3].map(Math.fround));
  });

  it('leaves unweighted chunks untouched', () => {
    const hidden = new Float32Array([0.1, -0.3, 7]);
    applyEmphasis(hidden, [1]);
    expect([...hidden]).toEqual([0.1, -0.3, 7].map(Math.fround));
  });

  it('pads an embedding to a chunk count with the empty chunk', () => {
    const empty = new Float32Array([9, 9]);
    expect([...padToChunks(new Float32Array([1, 2]), 3, empty)]).toEqual([1, 2, 9, 9, 9, 9]);
  });
});

describe('classifier-free guidance', () => {
  it('is ε_u + s(ε_c − ε_u)', () => {
    const guided = applyGuidance(new Float32Array([1, 0]), new Float32Array([2, 1]), 7.5);
    expect([...guided]).toEqual([8.5, 7.5]);
  });

  it('rescales to the conditional std and blends by φ (Lin et al. 2023 Eq. 15-16)', () => {
    // cond [0, 2]: std (n-1) = √2. guided with s=3 from uncond [0,0]: [0, 6], std = 3√2.
    // rescaled = [0, 6]·(√2/3√2) = [0, 2]; φ = 0.5 → [0, 4].
    const guided = applyGuidance(new Float32Array([0, 0]), new Float32Array([0, 2]), 3, 0.5);
    expect(guided[0]).toBe(0);
    expect(guided[1]).toBeCloseTo(4, 6);
  });

  it('is skipped at scale ≤ 1 and for LCM-distilled UNets', () => {
    expect([usesGuidance(1, false), usesGuidance(1.01, false), usesGuidance(8, true)]).toEqual([
      false,
      true,
      false,
    ]);
  });

  it("embeds LCM's guidance scale as diffusers' get_guidance_scale_embedding", () => {
    // w = (8 − 1) × 1000 = 7000; dim 4 → half 2, factor ln(10000)/(2−1): freqs 1, 1e-4.
    const e = guidanceScaleEmbedding(8, 4);
    expect(e[0]).toBeCloseTo(Math.sin(7000), 5);
    expect(e[1]).toBeCloseTo(Math.sin(0.7), 6);
    expect(e[2]).toBeCloseTo(Math.cos(7000), 5);
    expect(e[3]).toBeCloseTo(Math.cos(0.7), 6);
  });
});

describe('float16', () => {
  it('matches IEEE half-precision bit patterns', () => {
    // Known encodings: 1 → 0x3c00, −2 → 0xc000, 65504 (max) → 0x7bff, 2^-24 (min subnormal) → 0x0001,
    // 0.1 → 0x2e66 (nearest even), 1e6 → Inf 0x7c00.
    expect([1, -2, 65504, 2 ** -24, 0.1, 1e6].map(toFloat16Bits)).toEqual([
      0x3c00, 0xc000, 0x7bff, 0x0001, 0x2e66, 0x7c00,
    ]);
    expect(fromFloat16Bits(0x2e66)).toBe(0.0999755859375);
    expect(fromFloat16Bits(0x0001)).toBe(2 ** -24);
  });

  it('rounds ties to even', () => {
    // 1 + 2^-11 lies halfway between 1 (0x3c00) and 1 + 2^-10 (0x3c01): even wins.
    expect(toFloat16Bits(1 + 2 ** -11)).toBe(0x3c00);
    expect(toFloat16Bits(1 + 3 * 2 ** -11)).toBe(0x3c02);
  });

  it('round-trips every finite half', () => {
    const all = new Uint16Array(0x7c00).map((_, i) => i);
    expect([...float32ToFloat16(float16ToFloat32(all))]).toEqual([...all]);
  });
});

describe('pixels', () => {
  it("maps [-1, 1] to bytes as diffusers' numpy_to_pil, round half to even", () => {
    // x/2+0.5 then ×255: -1 → 0, 1 → 255, 0 → 127.5 → 128 (even), values beyond clip.
    const planes = new Float32Array([-1, 1, 0, 2, /* g */ -3, 0, 0, 0, /* b */ 0, 0, 0, 0]);
    const rgb = decodedToRgb(planes, 2, 2);
    expect([...rgb.subarray(0, 3)]).toEqual([0, 0, 128]);
    expect([...rgb.subarray(3, 6)]).toEqual([255, 128, 128]);
    expect(rgb[9]).toBe(255);
  });

  it('maps bytes back to [-1, 1] planes', () => {
    const planes = rgbToPlanes(new Uint8Array([0, 255, 51]), 1, 1);
    expect([...planes]).toEqual([-1, 1, Math.fround((51 / 255) * 2 - 1)]);
  });
});

describe('PNG text chunks', () => {
  // A 1×1 PNG (signature, IHDR, IDAT, IEND) made by hand.
  const png = Buffer.from(
    '89504e470d0a1a0a0000000d4948445200000001000000010802000000907753de0000000c4944415478da63f8cfc0000003010100c9fe92ef0000000049454e44ae426082',
    'hex',
  );

  it('writes tEXt for Latin-1 and iTXt otherwise, after IHDR, readable back', () => {
    const out = addPngText(png, { parameters: 'a café\nSteps: 4', other: 'プロンプト' });
    expect(readPngText(out)).toEqual({ parameters: 'a café\nSteps: 4', other: 'プロンプト' });
    expect(Buffer.from(out.subarray(37, 41)).toString('latin1')).toBe('tEXt');
    expect(out.length).toBeGreaterThan(png.length);
  });

  it('refuses bytes that are not a PNG', () => {
    expect(() => addPngText(new Uint8Array(20), { a: 'b' })).toThrow('not a PNG');
  });
});
