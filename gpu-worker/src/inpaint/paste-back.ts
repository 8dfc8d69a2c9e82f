// After decoding, every pixel the mask does not repaint is the init image's own, byte for byte
// (the VAE's round trip would otherwise shift colours everywhere), and the blurred edge mixes the
// two: out = init · (1 − m) + generated · m, rounded as the decoder's bytes are (half to even).

export function pasteBack(init: Uint8Array, generated: Uint8Array, mask: Float32Array): Uint8Array {
  const out = new Uint8ClampedArray(init.length);
  for (let i = 0; i < mask.length; i++) {
    const m = mask[i];
    for (let c = 0; c < 3; c++) {
      const k = i * 3 + c;
      out[k] = m === 0 ? init[k] : m === 1 ? generated[k] : init[k] * (1 - m) + generated[k] * m;
    }
  }
  return new Uint8Array(out.buffer);
}
