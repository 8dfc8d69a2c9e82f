// What a test needs to know of a PNG without decoding it: that it is one, and its size from the
// IHDR chunk (PNG spec §11.2.2: width and height are the first two big-endian uint32 of IHDR).
const SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

export function pngSize(png: Uint8Array): { width: number; height: number } {
  if (png.length < 33 || !SIGNATURE.every((byte, i) => png[i] === byte)) throw new Error('not a PNG');
  const view = new DataView(png.buffer, png.byteOffset, png.byteLength);
  const type = String.fromCharCode(...png.subarray(12, 16));
  if (type !== 'IHDR') throw new Error(`the first chunk is ${type}, not IHDR`);
  return { width: view.getUint32(16), height: view.getUint32(20) };
}

/** True when the last chunk is an intact IEND: the file was written to its end. */
export function endsWithIend(png: Uint8Array): boolean {
  const iend = [0, 0, 0, 0, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82];
  const tail = png.subarray(png.length - 12);
  return tail.length === 12 && iend.every((byte, i) => tail[i] === byte);
}
