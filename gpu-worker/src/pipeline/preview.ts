// Preview frames of an image while it denoises: its latest x0 estimate through the model's
// latent → RGB map (vae_decoder/latent_rgb.json, fitted by infra/model for our own model), or the
// published map for a 4-channel SD 1.x/2.x or SDXL model that ships none.
import { encodePreview, type PreviewFrame } from '../image/preview-image.ts';
import type { DiffusionModel } from '../model/diffusion-model.ts';
import type { DenoisingImage } from './denoise.ts';
import { type LatentRgbMap, latentToRgb, SD_KL_F8_LATENT_RGB, SDXL_LATENT_RGB } from './latent-preview.ts';

function isMap(value: unknown, channels: number): value is LatentRgbMap {
  const map = value as LatentRgbMap | undefined;
  const triple = (row: unknown) =>
    Array.isArray(row) && row.length === 3 && row.every((v) => Number.isFinite(v));
  return (
    Array.isArray(map?.factors) &&
    map.factors.length === channels &&
    map.factors.every(triple) &&
    triple(map.bias)
  );
}

/** The map previews use for this model, or undefined when it has none (no previews then). */
export function previewMapFor(model: DiffusionModel): LatentRgbMap | undefined {
  const channels = model.spec.latentChannels;
  if (isMap(model.folder.latentRgb, channels)) return model.folder.latentRgb;
  if (channels !== 4) return undefined;
  // SDXL (the UNet takes a pooled prompt) has its own VAE and latent space.
  return model.spec.pooledSize > 0 ? SDXL_LATENT_RGB : SD_KL_F8_LATENT_RGB;
}

/** A frame of `image`'s current x0 estimate, sized like the output; undefined before the first step. */
export async function renderPreview(
  map: LatentRgbMap,
  channels: number,
  image: DenoisingImage,
  output: { width: number; height: number },
): Promise<PreviewFrame | undefined> {
  const estimate = image.denoised ?? undefined;
  if (!estimate) return undefined;
  const rgb = latentToRgb(estimate, channels, image.height, image.width, map);
  return encodePreview(rgb, image.width, image.height, output.width, output.height);
}
