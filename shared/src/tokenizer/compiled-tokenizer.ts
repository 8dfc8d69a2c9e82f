// A compact, precompiled tokenizer: one binary blob generated at build time from a model's
// `tokenizer/` folder, so a Worker's cold start copies typed arrays instead of parsing 1.5 MB of
// JSON and merge text. Layout (little-endian):
//   "CLIPTOK1" | u32 header length | header JSON, zero-padded to 4 bytes
//   | u32 byteIds[512] | u32 merges[3 × mergeCount] | u32 mergeSlots[slotCount] (bpe.ts)
//   | vocabulary, UTF-8, one token per line
import { buildMergeSlots } from './bpe.ts';
import { ClipTokenizer, type ClipTokenizerData } from './clip-tokenizer.ts';

const MAGIC = 'CLIPTOK1';

interface Header {
  vocabSize: number;
  mergeCount: number;
  slotCount: number;
  bos: number;
  eos: number;
  pad: number;
  maxLength: number;
}

export function compileTokenizer(data: ClipTokenizerData): Uint8Array {
  const slots = data.mergeSlots ?? buildMergeSlots(data.merges);
  const header: Header = {
    vocabSize: data.vocabSize,
    mergeCount: data.merges.length / 3,
    slotCount: slots.length,
    bos: data.bos,
    eos: data.eos,
    pad: data.pad,
    maxLength: data.maxLength,
  };
  const headerBytes = new TextEncoder().encode(JSON.stringify(header));
  const headerLength = Math.ceil(headerBytes.length / 4) * 4;
  const vocabBytes = new TextEncoder().encode(data.vocab().join('\n'));
  const tablesOffset = 12 + headerLength;
  const tablesLength = (data.byteIds.length + data.merges.length + slots.length) * 4;
  const out = new Uint8Array(tablesOffset + tablesLength + vocabBytes.length);
  out.set(new TextEncoder().encode(MAGIC), 0);
  new DataView(out.buffer).setUint32(8, headerLength, true);
  out.set(headerBytes, 12);
  const tables = new Uint32Array(out.buffer, tablesOffset, tablesLength / 4);
  tables.set(data.byteIds, 0);
  tables.set(data.merges, data.byteIds.length);
  tables.set(slots, data.byteIds.length + data.merges.length);
  out.set(vocabBytes, tablesOffset + tablesLength);
  return out;
}

export class CompiledTokenizerError extends Error {
  override name = 'CompiledTokenizerError';
}

/** Reads a blob made by `compileTokenizer`; the tables are views into it, not copies. */
export function readCompiledTokenizer(blob: ArrayBuffer | Uint8Array): ClipTokenizerData {
  const bytes = blob instanceof Uint8Array ? blob : new Uint8Array(blob);
  if (new TextDecoder().decode(bytes.subarray(0, 8)) !== MAGIC) {
    throw new CompiledTokenizerError('not a compiled tokenizer (bad magic)');
  }
  // Typed-array views need 4-byte alignment; copy once if the blob arrived unaligned.
  const aligned = bytes.byteOffset % 4 === 0 ? bytes : bytes.slice();
  const view = new DataView(aligned.buffer, aligned.byteOffset, aligned.byteLength);
  const headerLength = view.getUint32(8, true);
  const header = JSON.parse(
    new TextDecoder().decode(aligned.subarray(12, 12 + headerLength)).replace(/\0+$/, ''),
  ) as Header;
  const tablesOffset = aligned.byteOffset + 12 + headerLength;
  const byteIds = new Uint32Array(aligned.buffer, tablesOffset, 512);
  const merges = new Uint32Array(aligned.buffer, tablesOffset + 512 * 4, header.mergeCount * 3);
  const slotsOffset = tablesOffset + (512 + header.mergeCount * 3) * 4;
  const mergeSlots = new Uint32Array(aligned.buffer, slotsOffset, header.slotCount);
  const vocabStart = slotsOffset - aligned.byteOffset + header.slotCount * 4;
  let vocab: string[] | undefined;
  return {
    ...header,
    byteIds,
    merges,
    mergeSlots,
    vocab: () => {
      vocab ??= new TextDecoder().decode(aligned.subarray(vocabStart)).split('\n');
      return vocab;
    },
  };
}

export function loadCompiledTokenizer(blob: ArrayBuffer | Uint8Array): ClipTokenizer {
  return new ClipTokenizer(readCompiledTokenizer(blob));
}
