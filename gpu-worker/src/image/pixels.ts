// Pixel conversions between the VAE's planar float images in [-1, 1] and interleaved 8-bit RGB.
// Rounding follows diffusers' `numpy_to_pil`: clip(x / 2 + 0.5, 0, 1) * 255, rounded half to even
// as numpy's `round` does.

function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** One image of a VAE decoder output (float, [3, height, width]) → RGB bytes, row-major HWC. */
export function decodedToRgb(planes: Float32Array, width: number, height: number, offset = 0): Uint8Array {
  const area = width * height;
  const rgb = new Uint8Array(area * 3);
  for (let c = 0; c < 3; c++) {
    const plane = offset + c * area;
    for (let i = 0; i < area; i++) {
      const v = Math.min(Math.max(planes[plane + i] / 2 + 0.5, 0), 1);
      rgb[i * 3 + c] = roundHalfEven(v * 255);
    }
  }
  return rgb;
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
