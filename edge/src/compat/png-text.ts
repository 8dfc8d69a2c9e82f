// The text chunks of a PNG, for POST /sdapi/v1/png-info: `tEXt` (Latin-1), `zTXt` (deflated
// Latin-1) and `iTXt` (UTF-8, deflated or not), keyword → text, as Pillow's `Image.info` holds them
// for A1111 (PNG specification, W3C 2003, §11.3.4). Chunk CRCs are not checked: a reader of
// metadata has no use for the pixels' integrity. Compressed text is held to a size, so a small
// upload cannot inflate into a large answer.

const SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
/** Most text one compressed chunk may inflate to. */
export const MAX_INFLATED_TEXT_BYTES = 1 << 20;

export class PngTextError extends Error {
  override readonly name = 'PngTextError';
}

export function isPng(bytes: Uint8Array): boolean {
  return bytes.length >= 8 && SIGNATURE.every((b, i) => bytes[i] === b);
}

/** ISO-8859-1 exactly (TextDecoder's "latin1" is windows-1252), in slices the call stack can take. */
function latin1(bytes: Uint8Array): string {
  let text = '';
  for (let i = 0; i < bytes.length; i += 8192) text += String.fromCharCode(...bytes.subarray(i, i + 8192));
  return text;
}

async function inflate(bytes: Uint8Array): Promise<Uint8Array> {
  const inflater = new DecompressionStream('deflate');
  // On bad data every promise of both sides rejects; the read below reports it, once.
  new Blob([bytes])
    .stream()
    .pipeTo(inflater.writable)
    .catch(() => undefined);
  const reader = inflater.readable.getReader();
  reader.closed.catch(() => undefined);
  const parts: Uint8Array[] = [];
  let total = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      total += value.byteLength;
      if (total > MAX_INFLATED_TEXT_BYTES) {
        reader.cancel().catch(() => undefined);
        throw new PngTextError(`a compressed text chunk inflates past ${MAX_INFLATED_TEXT_BYTES} bytes`);
      }
      parts.push(value);
    }
  } catch (error) {
    if (error instanceof PngTextError) throw error;
    throw new PngTextError('a compressed text chunk is not valid deflate data');
  }
  const out = new Uint8Array(total);
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.byteLength;
  }
  return out;
}

function nulAt(data: Uint8Array, from: number, type: string): number {
  const at = data.indexOf(0, from);
  if (at < 0) throw new PngTextError(`a ${type} chunk has no keyword terminator`);
  return at;
}

/** Every text chunk, in file order (a repeated keyword keeps its last text, as Pillow does). */
export async function readPngText(png: Uint8Array): Promise<Record<string, string>> {
  if (!isPng(png)) throw new PngTextError('it is not a PNG (no PNG signature)');
  const view = new DataView(png.buffer, png.byteOffset, png.byteLength);
  const out: Record<string, string> = {};
  let at = 8;
  while (at < png.length) {
    if (at + 12 > png.length) throw new PngTextError(`the PNG is cut short at byte ${at}`);
    const length = view.getUint32(at);
    const type = latin1(png.subarray(at + 4, at + 8));
    if (at + 12 + length > png.length) throw new PngTextError(`the ${type} chunk at byte ${at} is cut short`);
    const data = png.subarray(at + 8, at + 8 + length);
    at += 12 + length;
    if (type === 'IEND') break;
    if (type === 'tEXt') {
      const nul = nulAt(data, 0, type);
      out[latin1(data.subarray(0, nul))] = latin1(data.subarray(nul + 1));
    } else if (type === 'zTXt') {
      // keyword \0, compression method (0 = deflate), compressed text.
      const nul = nulAt(data, 0, type);
      out[latin1(data.subarray(0, nul))] = latin1(await inflate(data.subarray(nul + 2)));
    } else if (type === 'iTXt') {
      // keyword \0, compression flag, method, language tag \0, translated keyword \0, text.
      const nul = nulAt(data, 0, type);
      const compressed = data[nul + 1] === 1;
      const translated = nulAt(data, nulAt(data, nul + 3, type) + 1, type);
      const text = data.subarray(translated + 1);
      out[latin1(data.subarray(0, nul))] = new TextDecoder().decode(compressed ? await inflate(text) : text);
    }
  }
  return out;
}
