// A minimal WebP encoder for the fake gpu-worker's preview frames: one solid colour, lossless
// (VP8L), a real file any decoder reads, without loading sharp into the test runner. Every prefix
// code is a "simple" code with a single symbol, which takes zero bits per pixel, so the image is
// its headers alone. Layout from RFC 9649 (WebP): §2 RIFF container, §3.2 VP8L header, §3.7.2.1.1
// simple code lengths; bits are written least significant first.

class BitWriter {
  private readonly bytes: number[] = [];
  private bits = 0;

  write(value: number, count: number): void {
    for (let i = 0; i < count; i++, this.bits++) {
      if (this.bits % 8 === 0) this.bytes.push(0);
      this.bytes[this.bytes.length - 1] |= ((value >>> i) & 1) << (this.bits % 8);
    }
  }

  done(): Uint8Array {
    return Uint8Array.from(this.bytes);
  }
}

/** A prefix code with one 8-bit symbol: simple code, one symbol, 8 bits wide. */
function singleSymbol(bits: BitWriter, symbol: number): void {
  bits.write(1, 1);
  bits.write(0, 1);
  bits.write(1, 1);
  bits.write(symbol, 8);
}

function fourCc(text: string): number[] {
  return [...text].map((c) => c.charCodeAt(0));
}

function u32(value: number): number[] {
  return [value & 0xff, (value >>> 8) & 0xff, (value >>> 16) & 0xff, (value >>> 24) & 0xff];
}

/** A width × height WebP of one opaque colour. */
export function solidWebp(width: number, height: number, [r, g, b]: [number, number, number]): Uint8Array {
  const bits = new BitWriter();
  bits.write(0x2f, 8); // VP8L signature
  bits.write(width - 1, 14);
  bits.write(height - 1, 14);
  bits.write(0, 1); // alpha_is_used: no
  bits.write(0, 3); // version 0
  bits.write(0, 1); // no transform
  bits.write(0, 1); // no color cache
  bits.write(0, 1); // one prefix code group
  // Green (with lengths and cache codes), red, blue, alpha, then distance (never read).
  for (const symbol of [g, r, b, 255]) singleSymbol(bits, symbol);
  bits.write(1, 1);
  bits.write(0, 1);
  bits.write(0, 1);
  bits.write(0, 1); // distance symbol 0, 1 bit wide
  const payload = [...bits.done()];
  if (payload.length % 2) payload.push(0); // chunks are padded to an even size
  const chunk = [...fourCc('VP8L'), ...u32(bits.done().length), ...payload];
  return Uint8Array.from([...fourCc('RIFF'), ...u32(4 + chunk.length), ...fourCc('WEBP'), ...chunk]);
}
