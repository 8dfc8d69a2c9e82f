// How big R2 custom metadata is, the way the stricter of R2's two implementations counts it, so
// an object written under one limit is written under both:
// - production R2: custom + HTTP metadata at most 8,192 bytes of UTF-8 (SD-NOTES §6.3);
// - Miniflare (the edge tests, `wrangler dev`): custom metadata at most 2,048, each key and value
//   counted in characters, or twice its length when any of its characters is above U+00FF
//   (miniflare 4.20260329 `src/workers/r2/bucket.worker.ts`, `serialisedLength`).
// The budget is Miniflare's: an object that fits locally fits in production with ~6 KB to spare
// for the HTTP metadata (content type, cache control: under 100 bytes).

export const R2_METADATA_BUDGET = 2048;

const encoder = new TextEncoder();

/** The larger of a string's UTF-8 bytes and Miniflare's count. */
function countedLength(text: string): number {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: Latin-1 is exactly U+0000..U+00FF.
  const miniflare = /^[\u0000-\u00ff]*$/.test(text) ? text.length : text.length * 2;
  return Math.max(miniflare, encoder.encode(text).length);
}

export function r2MetadataSize(metadata: Record<string, string>): number {
  let size = 0;
  for (const [key, value] of Object.entries(metadata)) size += countedLength(key) + countedLength(value);
  return size;
}

export function fitsR2Metadata(metadata: Record<string, string>): boolean {
  return r2MetadataSize(metadata) <= R2_METADATA_BUDGET;
}
