// An uploaded image's width and height from its header, without decoding it: ComfyUI's VAEEncode
// keeps the size of its pixels, so an img2img workflow generates at the LoadImage's size.
// PNG: IHDR's first two big-endian uint32 (PNG spec §11.2.2). JPEG: the first SOFn segment
// (ITU T.81 §B.2.2: height then width, big-endian uint16). WebP: the VP8 / VP8L / VP8X chunk
// (RFC 9649 §2.5–2.7).

export function imageDimensions(b: Uint8Array): { width: number; height: number } | undefined {
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  if (b.length >= 24 && b[0] === 0x89 && b[1] === 0x50) {
    return { width: view.getUint32(16), height: view.getUint32(20) };
  }
  if (b.length >= 4 && b[0] === 0xff && b[1] === 0xd8) {
    let offset = 2;
    while (offset + 9 < b.length) {
      if (b[offset] !== 0xff) return undefined;
      const marker = b[offset + 1];
      // SOF0–SOF15 except DHT (C4), JPG (C8) and DAC (CC).
      if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
        return { height: view.getUint16(offset + 5), width: view.getUint16(offset + 7) };
      }
      offset += 2 + view.getUint16(offset + 2);
    }
    return undefined;
  }
  if (b.length >= 30 && String.fromCharCode(b[12], b[13], b[14], b[15]) === 'VP8X') {
    const u24 = (at: number) => b[at] | (b[at + 1] << 8) | (b[at + 2] << 16);
    return { width: u24(24) + 1, height: u24(27) + 1 };
  }
  if (b.length >= 30 && String.fromCharCode(b[12], b[13], b[14], b[15]) === 'VP8 ') {
    return { width: view.getUint16(26, true) & 0x3fff, height: view.getUint16(28, true) & 0x3fff };
  }
  if (b.length >= 25 && String.fromCharCode(b[12], b[13], b[14], b[15]) === 'VP8L') {
    const bits = view.getUint32(21, true);
    return { width: (bits & 0x3fff) + 1, height: ((bits >> 14) & 0x3fff) + 1 };
  }
  return undefined;
}
