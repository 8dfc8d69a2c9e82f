// One cold start, run in a fresh Node process by tokenizer.ts (which imports only its type): import
// the code, load one tokenizer, encode one prompt to its 77 model input ids. Prints the times (ms)
// as one JSON line.
//   tokenizer-cold-load.ts compiled <blob file> | files <tokenizer dir> | peer <tokenizer dir>
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { FIRST_PROMPT } from './sd-prompts.ts';

export interface ColdLoad {
  /** Importing the tokenizer's modules (for tsx: transpiling ours, from its cache when warm). */
  importMs: number;
  /** Peer only: JSON.parse of the serialized tokenizer.json, which from_pretrained also pays. */
  parseMs?: number;
  /** Making the tokenizer from data already in memory (ours from files: also reading them). */
  loadMs: number;
  /** The first prompt: regex compilation, cold caches, unoptimized code. */
  firstPromptMs: number;
}

const now = () => performance.now();

async function coldLoad(mode: string, path: string): Promise<ColdLoad> {
  let t = now();
  if (mode === 'compiled' || mode === 'files') {
    const { toModelInput } = await import('../../../shared/src/tokenizer/clip-tokenizer.ts');
    const { loadCompiledTokenizer } = await import('../../../shared/src/tokenizer/compiled-tokenizer.ts');
    const { createClipTokenizer } = await import('../../../shared/src/tokenizer/tokenizer-files.ts');
    const { readTokenizerDir } = await import('../../../shared/src/node/tokenizer-dir.ts');
    const importMs = now() - t;
    // A Worker receives the blob as a module binding, already in memory: the read is not timed.
    const blob = mode === 'compiled' ? readFileSync(path) : undefined;
    t = now();
    const tokenizer = blob ? loadCompiledTokenizer(blob) : createClipTokenizer(readTokenizerDir(path));
    const loadMs = now() - t;
    t = now();
    toModelInput(tokenizer, tokenizer.encode(FIRST_PROMPT));
    return { importMs, loadMs, firstPromptMs: now() - t };
  }
  if (mode === 'peer') {
    const { clipTokenizerJson, createHfClipTokenizer, hfModelInput } = await import('./hf-clip-tokenizer.ts');
    const importMs = now() - t;
    const json = JSON.stringify(
      clipTokenizerJson(
        readFileSync(join(path, 'vocab.json'), 'utf8'),
        readFileSync(join(path, 'merges.txt'), 'utf8'),
      ),
    );
    t = now();
    const tokenizerJson = JSON.parse(json) as Record<string, unknown>;
    const parseMs = now() - t;
    t = now();
    const tokenizer = createHfClipTokenizer(tokenizerJson);
    const loadMs = now() - t;
    t = now();
    hfModelInput(tokenizer, FIRST_PROMPT);
    return { importMs, parseMs, loadMs, firstPromptMs: now() - t };
  }
  throw new Error(`tokenizer-cold-load: unknown mode "${mode}" (expected compiled, files or peer)`);
}

const [mode, path] = process.argv.slice(2);
process.stdout.write(`${JSON.stringify(await coldLoad(mode, path))}\n`);
