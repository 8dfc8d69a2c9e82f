// Zoom out's canvas (src/discord/zoom-out.ts): 1.5 × each side, rounded to the model's
// size_multiple, the image centred, and refused past the model's maximum or outside its buckets.
import { describe, expect, it } from 'vitest';
import { planZoomOut, zoomedSide } from '../src/discord/zoom-out.ts';

const sd15 = { id: 'sd15', size_multiple: 64, max_width: 1024, max_height: 1024 };
const tiny = { id: 'tiny-sd', size_multiple: 32, max_width: 256, max_height: 256 };

describe('zoom out', () => {
  it('makes each side 1.5 times as long, the image centred with a quarter of its size on each side', () => {
    expect(planZoomOut({ width: 512, height: 512 }, sd15)).toEqual({
      fits: true,
      width: 768,
      height: 768,
      outpaint: { left: 128, right: 128, top: 128, bottom: 128 },
    });
    expect(planZoomOut({ width: 64, height: 64 }, tiny)).toEqual({
      fits: true,
      width: 96,
      height: 96,
      outpaint: { left: 16, right: 16, top: 16, bottom: 16 },
    });
  });

  it('rounds each side to the nearest multiple of the model’s size_multiple', () => {
    // 640 × 1.5 = 960 = 15 × 64; 448 × 1.5 = 672 = 10.5 × 64, rounded up to 11 × 64 = 704.
    expect(planZoomOut({ width: 640, height: 448 }, sd15)).toEqual({
      fits: true,
      width: 960,
      height: 704,
      outpaint: { left: 160, right: 160, top: 128, bottom: 128 },
    });
    // 96 × 1.5 = 144 = 4.5 × 32 → 160; 160 × 1.5 = 240 = 7.5 × 32 → 256.
    expect(zoomedSide(96, 32)).toBe(160);
    expect(zoomedSide(160, 32)).toBe(256);
    // 200 × 1.5 = 300 = 37.5 × 8 → 304.
    expect(zoomedSide(200, 8)).toBe(304);
  });

  it('splits the added pixels evenly, an odd one going right and down', () => {
    // Multiple 8: 72 × 1.5 = 108 = 13.5 × 8 → 112, 40 added: 20 and 20; 88 × 1.5 = 132 → 136, 48 added.
    expect(planZoomOut({ width: 72, height: 88 }, { ...sd15, size_multiple: 8 })).toEqual({
      fits: true,
      width: 112,
      height: 136,
      outpaint: { left: 20, right: 20, top: 24, bottom: 24 },
    });
    // A side that is no multiple (never a stored image's, which the model made): 67 → 104, 37 added.
    expect(planZoomOut({ width: 67, height: 64 }, { ...sd15, size_multiple: 8 })).toMatchObject({
      width: 104,
      outpaint: { left: 18, right: 19 },
    });
  });

  it('always grows a side, even where × 1.5 would round back down to it or below', () => {
    // 20 × 1.5 = 30 rounds to 0 × 64: the next multiple up instead. 64 × 1.5 = 96 = 0.75 × 128 → 128.
    expect(zoomedSide(20, 64)).toBe(64);
    expect(zoomedSide(64, 64)).toBe(128);
    expect(zoomedSide(64, 128)).toBe(128);
  });

  it('refuses a canvas past the model’s maximum, saying the size and the limit', () => {
    expect(planZoomOut({ width: 768, height: 512 }, sd15)).toEqual({
      fits: false,
      width: 1152,
      height: 768,
      reason: 'Zoomed out, this image would be 1152×768, larger than model "sd15" makes (at most 1024×1024).',
    });
    // Exactly the maximum fits: 160 → 256 for tiny-sd; 256 does not zoom further.
    expect(planZoomOut({ width: 160, height: 160 }, tiny)).toMatchObject({ fits: true, width: 256 });
    expect(planZoomOut({ width: 256, height: 160 }, tiny)).toMatchObject({
      fits: false,
      width: 384,
      height: 256,
    });
  });

  it('refuses a canvas that is not one of the model’s aspect buckets (SDXL)', () => {
    const sdxl = { ...sd15, id: 'sdxl', size_multiple: 32, sizes: ['64x64', '96x96', '128x64'] };
    expect(planZoomOut({ width: 64, height: 64 }, sdxl)).toMatchObject({ fits: true, width: 96 });
    expect(planZoomOut({ width: 128, height: 64 }, sdxl)).toEqual({
      fits: false,
      width: 192,
      height: 96,
      reason:
        'Zoomed out, this image would be 192×96, which is not one of the sizes model "sdxl" makes (64x64, 96x96, 128x64).',
    });
  });
});
