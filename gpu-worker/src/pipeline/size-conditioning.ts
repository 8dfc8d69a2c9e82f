// SDXL's micro-conditioning (Podell et al. 2023, "SDXL", §2.2): the UNet is told the image's
// original size, the crop's top-left corner and the target size, as `time_ids`
// [orig_h, orig_w, crop_top, crop_left, target_h, target_w] (diffusers
// `pipeline_stable_diffusion_xl.py: _get_add_time_ids`). A generated image is uncropped and
// "originally" the size asked for, diffusers' defaults; the negative side uses the same ids.

export function sizeConditioning(width: number, height: number): Float32Array {
  return Float32Array.of(height, width, 0, 0, height, width);
}
