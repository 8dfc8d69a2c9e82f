// Parity with openai/CLIP's tokenizer (+ ftfy 6.3.1, Python 3.11 html.unescape) on every case of
// the reference set (../shared/reference/clip-tokenizer, or $REFERENCE_DIR/clip-tokenizer).
// Expected ids come from running the reference; the comparison is exact.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { referenceDir, reportCases } from '../../test/reference.ts';
import { cleanText, toModelInput } from '../src/tokenizer/clip-tokenizer.ts';
import { compileTokenizer, loadCompiledTokenizer } from '../src/tokenizer/compiled-tokenizer.ts';
import { createClipTokenizer, readTokenizerFiles } from '../src/tokenizer/tokenizer-files.ts';

interface TokenCase {
  text: string;
  raw: number[];
  ids: number[];
  cleaned: string;
}
interface TokenFile {
  bos: number;
  eos: number;
  pad: number;
  max_length: number;
  cases: TokenCase[];
}

const dir = referenceDir('clip-tokenizer');

describe.skipIf(!dir)('CLIP tokenizer parity', () => {
  const files = {
    vocabJson: dir ? readFileSync(join(dir, 'vocab.json'), 'utf8') : '',
    mergesTxt: dir ? readFileSync(join(dir, 'merges.txt'), 'utf8') : '',
  };

  const loaders = {
    'from files': createClipTokenizer,
    compiled: (f: typeof files) => loadCompiledTokenizer(compileTokenizer(readTokenizerFiles(f))),
  };
  for (const [file, padToken] of [
    ['tokens.json', '<|endoftext|>'],
    ['tokens_sd2.json', '!'],
  ] as const)
    for (const [loader, load] of Object.entries(loaders)) {
      it(`matches every case of ${file} (${loader})`, () => {
        const reference = JSON.parse(readFileSync(join(dir as string, file), 'utf8')) as TokenFile;
        const tokenizer = load({
          ...files,
          specialTokensMapJson: JSON.stringify({ pad_token: padToken }),
        });
        expect(tokenizer.pad).toBe(reference.pad);
        const failures: string[] = [];
        for (const c of reference.cases) {
          const raw = tokenizer.encode(c.text);
          const ids = toModelInput(tokenizer, raw);
          const ok =
            cleanText(c.text) === c.cleaned &&
            JSON.stringify(raw) === JSON.stringify(c.raw) &&
            JSON.stringify(ids) === JSON.stringify(c.ids);
          if (!ok) {
            failures.push(
              `${JSON.stringify(c.text)}\n  cleaned ${JSON.stringify(cleanText(c.text))} want ${JSON.stringify(c.cleaned)}\n  raw ${JSON.stringify(raw.slice(0, 20))} want ${JSON.stringify(c.raw.slice(0, 20))}`,
            );
          }
        }
        reportCases(
          `clip-tokenizer ${file} (${loader})`,
          reference.cases.length - failures.length,
          reference.cases.length,
        );
        expect(failures, failures.slice(0, 10).join('\n')).toEqual([]);
      });
    }
});
