// What the masked area starts from (A1111's inpainting_fill). `original` keeps the init image
// there, so the result stays close to it; `fill` first paints it with the colour around it, so
// the prompt decides what appears (A1111 blurs the surroundings in; the mean of the kept pixels
// is the same idea at one scale); `latent_noise` replaces the masked latent with fresh noise and
// `latent_nothing` with zeros, both before the usual noising to the first timestep.

export type { MaskedContent } from '@latent-edge/shared/protocol/generation-request';

/** `fill`: the init image with every repainted pixel (mask ≥ 0.5) set to the mean kept colour. */
export function fillMasked(rgb: Uint8Array, mask: Float32Array): Uint8Array {
  const sum = [0, 0, 0];
  let kept = 0;
  for (let i = 0; i < mask.length; i++) {
    if (mask[i] >= 0.5) continue;
    kept++;
    for (let c = 0; c < 3; c++) sum[c] += rgb[i * 3 + c];
  }
  // A mask over everything keeps nothing to take a colour from: mid grey, the VAE's zero.
  const mean = sum.map((s) => (kept ? Math.round(s / kept) : 128));
  const out = Uint8Array.from(rgb);
  for (let i = 0; i < mask.length; i++) {
    if (mask[i] < 0.5) continue;
    for (let c = 0; c < 3; c++) out[i * 3 + c] = mean[c];
  }
  return out;
}

/** `latent_noise` / `latent_nothing`: the scaled init latent with the masked blocks replaced. */
export function replaceMaskedLatent(
  latent: Float32Array,
  latentMask: Float32Array,
  channels: number,
  replacement: Float32Array | 0,
): Float32Array {
  const area = latentMask.length;
  const out = Float32Array.from(latent);
  for (let c = 0; c < channels; c++) {
    for (let i = 0; i < area; i++) {
      if (latentMask[i] === 1) out[c * area + i] = replacement === 0 ? 0 : replacement[c * area + i];
    }
  }
  return out;
}
