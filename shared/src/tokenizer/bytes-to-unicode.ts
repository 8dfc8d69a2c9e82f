// openai/CLIP simple_tokenizer.py `bytes_to_unicode`: every byte maps to a printable character so
// BPE never sees whitespace or control characters. Printable Latin-1 bytes map to themselves; the
// other 68 bytes map to U+0100 onwards, in byte order.

function buildByteChars(): string[] {
  const printable = (b: number) =>
    (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
  const chars: string[] = new Array(256);
  let next = 256;
  for (let b = 0; b < 256; b++) chars[b] = String.fromCharCode(printable(b) ? b : next++);
  return chars;
}

/** `BYTE_CHARS[b]` is the character standing for byte b. */
export const BYTE_CHARS: readonly string[] = buildByteChars();

/** Vocabulary order of the 256 byte characters: printable bytes first, then the rest (CLIP ids 0..255). */
export const BYTE_CHARS_IN_VOCAB_ORDER: readonly string[] = [
  ...BYTE_CHARS.filter((ch) => ch.charCodeAt(0) < 256),
  ...BYTE_CHARS.filter((ch) => ch.charCodeAt(0) >= 256),
];
