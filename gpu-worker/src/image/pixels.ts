// Pixel conversions between the VAE's planar float images in [-1, 1] and interleaved 8-bit RGB.
// Rounding follows diffusers' `numpy_to_pil`: clip(x / 2 + 0.5, 0, 1) * 255, rounded half to even
// as numpy's `round` does.

/**
 * One image of a VAE decoder output (float, [3, height, width]) → RGB bytes, row-major HWC.
 * A Uint8ClampedArray store clamps to 0..255 and rounds half to even (ECMA-262 ToUint8Clamp),
 * which is numpy's clip-then-round, about 4× faster than doing both by hand.
 */
export function decodedToRgb(planes: Float32Array, width: number, height: number, offset = 0): Uint8Array {
  const area = width * height;
  const rgb = new Uint8ClampedArray(area * 3);
  for (let c = 0; c < 3; c++) {
    const plane = offset + c * area;
    for (let i = 0; i < area; i++) rgb[i * 3 + c] = (planes[plane + i] / 2 + 0.5) * 255;
  }
  return new Uint8Array(rgb.buffer);
}

/** RGB bytes (HWC) → planar floats in [-1, 1] ([3, height, width]), the VAE encoder's input. */
export function rgbToPlanes(rgb: Uint8Array, width: number, height: number): Float32Array {
  const area = width * height;
  const planes = new Float32Array(area * 3);
  for (let i = 0; i < area; i++) {
    for (let c = 0; c < 3; c++) planes[c * area + i] = (rgb[i * 3 + c] / 255) * 2 - 1;
  }
  return planes;
}
