// Adds text chunks to a PNG the way AUTOMATIC1111 (through Pillow's PngInfo) does: `tEXt` when the
// text fits Latin-1, otherwise uncompressed `iTXt` (UTF-8). Chunks go right after IHDR, so readers
// that stop at the first IDAT still see them. PNG spec §11.3.4.
import { crc32 } from 'node:zlib';

const SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

function chunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, data.length);
  out.set(Buffer.from(type, 'latin1'), 4);
  out.set(data, 8);
  view.setUint32(8 + data.length, crc32(out.subarray(4, 8 + data.length)));
  return out;
}

function textChunk(keyword: string, text: string): Uint8Array {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: Latin-1 is exactly U+0000..U+00FF.
  if (/^[\u0000-\u00ff]*$/.test(text)) {
    return chunk(
      'tEXt',
      Buffer.concat([Buffer.from(keyword, 'latin1'), Buffer.from([0]), Buffer.from(text, 'latin1')]),
    );
  }
  // keyword \0, compression flag 0, method 0, empty language tag \0, empty translated keyword \0.
  const head = Buffer.concat([Buffer.from(keyword, 'latin1'), Buffer.from([0, 0, 0, 0, 0])]);
  return chunk('iTXt', Buffer.concat([head, Buffer.from(text, 'utf8')]));
}

export function addPngText(png: Uint8Array, entries: Record<string, string>): Uint8Array {
  if (!SIGNATURE.every((b, i) => png[i] === b)) throw new Error('not a PNG');
  const ihdrEnd = 8 + 12 + new DataView(png.buffer, png.byteOffset).getUint32(8);
  const chunks = Object.entries(entries).map(([keyword, text]) => textChunk(keyword, text));
  return Buffer.concat([png.subarray(0, ihdrEnd), ...chunks, png.subarray(ihdrEnd)]);
}

/** Reads every tEXt and iTXt chunk (uncompressed iTXt only), for tests and tools. */
export function readPngText(png: Uint8Array): Record<string, string> {
  const view = new DataView(png.buffer, png.byteOffset, png.byteLength);
  const out: Record<string, string> = {};
  for (let at = 8; at + 12 <= png.length; ) {
    const length = view.getUint32(at);
    const type = Buffer.from(png.subarray(at + 4, at + 8)).toString('latin1');
    const data = Buffer.from(png.subarray(at + 8, at + 8 + length));
    const nul = data.indexOf(0);
    if (type === 'tEXt')
      out[data.subarray(0, nul).toString('latin1')] = data.subarray(nul + 1).toString('latin1');
    if (type === 'iTXt' && data[nul + 1] === 0) {
      const lang = data.indexOf(0, nul + 3);
      const translated = data.indexOf(0, lang + 1);
      out[data.subarray(0, nul).toString('latin1')] = data.subarray(translated + 1).toString('utf8');
    }
    at += 12 + length;
  }
  return out;
}
