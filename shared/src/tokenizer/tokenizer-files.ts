// Reads a Hugging Face `tokenizer/` folder's contents (already loaded as strings: no file system
// here) into ClipTokenizerData: vocab.json, merges.txt, and the special tokens and max length
// from special_tokens_map.json / tokenizer_config.json.
import { BYTE_CHARS } from './bytes-to-unicode.ts';
import { ClipTokenizer, type ClipTokenizerData, END_OF_TEXT, START_OF_TEXT } from './clip-tokenizer.ts';

export interface TokenizerFiles {
  vocabJson: string;
  mergesTxt: string;
  specialTokensMapJson?: string;
  tokenizerConfigJson?: string;
}

export class TokenizerFilesError extends Error {
  override name = 'TokenizerFilesError';
}

type SpecialToken = string | { content: string } | null | undefined;
type TokenSettings = Record<string, unknown> & { model_max_length?: number };

function parseJson(label: string, text: string | undefined): TokenSettings {
  if (text === undefined) return {};
  try {
    return JSON.parse(text) as TokenSettings;
  } catch (error) {
    throw new TokenizerFilesError(`${label} is not valid JSON: ${(error as Error).message}`);
  }
}

function tokenContent(token: unknown): string | undefined {
  const value = token as SpecialToken;
  if (typeof value === 'string') return value;
  return value?.content;
}

export function readTokenizerFiles(files: TokenizerFiles): ClipTokenizerData {
  const vocabObject = parseJson('vocab.json', files.vocabJson) as Record<string, number>;
  const ids = new Map<string, number>();
  const vocab: string[] = [];
  for (const token in vocabObject) {
    const id = vocabObject[token];
    ids.set(token, id);
    vocab[id] = token;
  }
  const specialMap = parseJson('special_tokens_map.json', files.specialTokensMapJson);
  const config = parseJson('tokenizer_config.json', files.tokenizerConfigJson);

  const vocabSize = vocab.length;
  const idOf = (token: string, what: string): number => {
    const id = ids.get(token);
    if (id === undefined) throw new TokenizerFilesError(`vocab.json has no entry for ${what} "${token}"`);
    return id;
  };

  const byteIds = new Uint32Array(512);
  BYTE_CHARS.forEach((ch, b) => {
    byteIds[b] = idOf(ch, `byte 0x${b.toString(16)}`);
    byteIds[256 + b] = idOf(`${ch}</w>`, `byte 0x${b.toString(16)} with </w>`);
  });

  const lines = files.mergesTxt.split('\n').filter((line) => line.length > 0 && !line.startsWith('#version'));
  const merges = new Uint32Array(lines.length * 3);
  lines.forEach((line, rank) => {
    const parts = line.split(' ');
    if (parts.length !== 2)
      throw new TokenizerFilesError(`merges.txt line ${rank + 2} is not a pair: "${line}"`);
    merges[3 * rank] = idOf(parts[0], 'merge part');
    merges[3 * rank + 1] = idOf(parts[1], 'merge part');
    merges[3 * rank + 2] = idOf(parts[0] + parts[1], 'merge result');
  });

  const special = (key: string, fallback: string) =>
    tokenContent(specialMap[key]) ?? tokenContent(config[key]) ?? fallback;
  const eosToken = special('eos_token', END_OF_TEXT);
  const maxLength = config.model_max_length;
  return {
    vocabSize,
    byteIds,
    merges,
    bos: idOf(special('bos_token', START_OF_TEXT), 'bos_token'),
    eos: idOf(eosToken, 'eos_token'),
    // SD 1.x pads with EOS; SD 2.x declares `!` (id 0).
    pad: idOf(special('pad_token', eosToken), 'pad_token'),
    // Some configs store a huge sentinel when no limit is set; CLIP's is 77.
    maxLength: typeof maxLength === 'number' && maxLength > 2 && maxLength <= 4096 ? maxLength : 77,
    vocab: () => vocab,
  };
}

export function createClipTokenizer(files: TokenizerFiles): ClipTokenizer {
  return new ClipTokenizer(readTokenizerFiles(files));
}
