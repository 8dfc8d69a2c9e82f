// Node-only: loads a model's `tokenizer/` folder from disk. The tokenizer itself never touches
// the file system (it also runs in workerd), so this lives apart.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ClipTokenizer } from '../tokenizer/clip-tokenizer.ts';
import {
  createClipTokenizer,
  type TokenizerFiles,
  TokenizerFilesError,
} from '../tokenizer/tokenizer-files.ts';

export function readTokenizerDir(dir: string): TokenizerFiles {
  const required = (name: string) => {
    const path = join(dir, name);
    if (!existsSync(path)) throw new TokenizerFilesError(`tokenizer folder ${dir} has no ${name}`);
    return readFileSync(path, 'utf8');
  };
  const optional = (name: string) => {
    const path = join(dir, name);
    return existsSync(path) ? readFileSync(path, 'utf8') : undefined;
  };
  return {
    vocabJson: required('vocab.json'),
    mergesTxt: required('merges.txt'),
    specialTokensMapJson: optional('special_tokens_map.json'),
    tokenizerConfigJson: optional('tokenizer_config.json'),
  };
}

export function loadTokenizerDir(dir: string): ClipTokenizer {
  return createClipTokenizer(readTokenizerDir(dir));
}
