// Text chunks added to a PNG inside workerd, as Pillow's PngInfo writes them (tEXt, zTXt and iTXt,
// PNG specification §11.3.4), with real CRCs: the png-info tests read back what A1111 would write.

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

const latin1 = (text: string) => Uint8Array.from(text, (ch) => ch.charCodeAt(0));

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

export function pngChunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, data.length);
  out.set(latin1(type), 4);
  out.set(data, 8);
  view.setUint32(8 + data.length, crc32(out.subarray(4, 8 + data.length)));
  return out;
}

async function deflate(bytes: Uint8Array): Promise<Uint8Array> {
  const stream = new Blob([bytes]).stream().pipeThrough(new CompressionStream('deflate'));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

export type TextChunk = { keyword: string; text: string; kind: 'tEXt' | 'zTXt' | 'iTXt' | 'iTXt-deflated' };

/** The PNG with `chunks` inserted right after IHDR. */
export async function withTextChunks(png: Uint8Array, chunks: TextChunk[]): Promise<Uint8Array> {
  const ihdrEnd = 8 + 12 + new DataView(png.buffer, png.byteOffset).getUint32(8);
  const encoded = await Promise.all(
    chunks.map(async ({ keyword, text, kind }) => {
      const key = latin1(keyword);
      if (kind === 'tEXt')
        return pngChunk('tEXt', concat([key, [0], latin1(text)].map((p) => Uint8Array.from(p))));
      if (kind === 'zTXt')
        return pngChunk('zTXt', concat([key, Uint8Array.of(0, 0), await deflate(latin1(text))]));
      const utf8 = new TextEncoder().encode(text);
      const compressed = kind === 'iTXt-deflated';
      const body = compressed ? await deflate(utf8) : utf8;
      return pngChunk('iTXt', concat([key, Uint8Array.of(0, compressed ? 1 : 0, 0, 0, 0), body]));
    }),
  );
  return concat([png.subarray(0, ihdrEnd), ...encoded, png.subarray(ihdrEnd)]);
}

export function toBase64(bytes: Uint8Array): string {
  let binary = '';
  for (let i = 0; i < bytes.length; i += 8192) binary += String.fromCharCode(...bytes.subarray(i, i + 8192));
  return btoa(binary);
}

export function fromBase64(text: string): Uint8Array {
  return Uint8Array.from(atob(text), (ch) => ch.charCodeAt(0));
}
