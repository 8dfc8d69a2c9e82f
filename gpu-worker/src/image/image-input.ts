// How every client-sent picture (init image, mask, outpainting source) enters sharp: with the
// API's pixel cap, which libvips checks against the header before it decodes a pixel, and a
// deadline, so a slow or hostile file fails its own job with a 400 instead of holding a libuv
// thread (and the jobs queued behind it) indefinitely.
import { LIMITS } from '@latent-edge/shared/protocol/limits';
import sharp, { type Sharp } from 'sharp';

/** A decode of a capped picture takes well under a second on 2 cores; this is far past it. */
export const DECODE_TIMEOUT_SECONDS = 10;

export function sharpInput(bytes: Uint8Array): Sharp {
  return sharp(bytes, { limitInputPixels: LIMITS.maxInitImagePixels }).timeout({
    seconds: DECODE_TIMEOUT_SECONDS,
  });
}
