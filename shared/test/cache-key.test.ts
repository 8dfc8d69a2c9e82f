import { describe, expect, it } from 'vitest';
import { canonicalJson, type ImageIdentity, imageCacheKey } from '../src/crypto/cache-key.ts';

const identity: ImageIdentity = {
  model: 'tiny-sd',
  revision: 'abc123',
  prompt: [{ ids: [49406, 320, 49407], weights: [1, 1.1, 1] }],
  negativePrompt: [{ ids: [49406, 49407, 49407], weights: [1, 1, 1] }],
  width: 64,
  height: 64,
  steps: 20,
  guidanceScale: 7.5,
  guidanceRescale: 0,
  scheduler: 'euler',
  seed: 42,
  outputFormat: 'png',
};

describe('canonical hashing', () => {
  it('is stable across key order', async () => {
    const reordered = Object.fromEntries(Object.entries(identity).reverse()) as unknown as ImageIdentity;
    expect(canonicalJson(reordered)).toBe(canonicalJson(identity));
    expect(await imageCacheKey('s', reordered)).toBe(await imageCacheKey('s', identity));
  });

  it('sorts nested keys and drops undefined fields', () => {
    expect(canonicalJson({ b: { d: 1, c: [{ z: 1, y: 2 }] }, a: undefined })).toBe(
      '{"b":{"c":[{"y":2,"z":1}],"d":1}}',
    );
  });

  it('changes with every parameter that changes pixels', async () => {
    const base = await imageCacheKey('s', identity);
    const variants: Partial<ImageIdentity>[] = [
      { seed: 43 },
      { steps: 21 },
      { scheduler: 'ddim' },
      { guidanceScale: 7 },
      { width: 128 },
      { revision: 'def456' },
      { prompt: [{ ids: [49406, 321, 49407], weights: [1, 1.1, 1] }] },
      { prompt: [{ ids: [49406, 320, 49407], weights: [1, 1.2, 1] }] },
      { outputFormat: 'webp' },
      { strength: 0.5, initImageSha256: 'ff' },
      // SDXL's second text encoder: its chunks are an input of their own (another pad id).
      { prompt2: [{ ids: [49406, 320, 49407], weights: [1, 1.1, 1] }] },
      { negativePrompt2: [{ ids: [49406, 49407, 0], weights: [1, 1, 1] }] },
    ];
    for (const change of variants)
      expect(await imageCacheKey('s', { ...identity, ...change })).not.toBe(base);
  });

  it('tells apart second-encoder chunks that differ only in padding', async () => {
    const sdxl = { ...identity, prompt2: [{ ids: [49406, 320, 49407, 49407], weights: [1, 1, 1, 1] }] };
    const padded = { ...identity, prompt2: [{ ids: [49406, 320, 49407, 0], weights: [1, 1, 1, 1] }] };
    expect(await imageCacheKey('s', sdxl)).not.toBe(await imageCacheKey('s', padded));
  });

  it('depends on the server secret, so keys cannot be probed without it', async () => {
    expect(await imageCacheKey('secret-a', identity)).not.toBe(await imageCacheKey('secret-b', identity));
    expect(await imageCacheKey('secret-a', identity)).toMatch(/^[0-9a-f]{64}$/);
  });

  it('treats weights equal in float32 as equal', async () => {
    const nearly = { ...identity, prompt: [{ ids: [49406, 320, 49407], weights: [1, 1.1 + 1e-12, 1] }] };
    expect(await imageCacheKey('s', nearly)).toBe(await imageCacheKey('s', identity));
  });
});
