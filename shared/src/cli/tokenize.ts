// `npm run tokenize -- --tokenizer <dir> "<prompt>"`: shows how a prompt is tokenized, with
// A1111 emphasis weights and 77-token chunks. With --jsonl, reads one JSON string per line on
// stdin and writes the 77 padded model input ids of each as a JSON array (plain CLIP
// tokenization, no emphasis syntax), for comparing against other tokenizers.
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { loadTokenizerDir } from '../node/tokenizer-dir.ts';
import { tokenizeWeighted } from '../prompt/prompt-chunks.ts';
import { LIMITS } from '../protocol/limits.ts';
import { toModelInput } from '../tokenizer/clip-tokenizer.ts';

const BUNDLED_TOKENIZER = resolve(import.meta.dirname, '../../../gpu-worker/models/tiny-sd/tokenizer');
const USAGE = `usage: npm run tokenize -- [--tokenizer DIR] "PROMPT"
       npm run tokenize -- [--tokenizer DIR] --jsonl < prompts.jsonl
  DIR is a model's tokenizer/ folder (vocab.json, merges.txt, ...); default: the bundled model's.`;

async function jsonl(tokenizer: ReturnType<typeof loadTokenizerDir>): Promise<void> {
  let lineNumber = 0;
  for await (const line of createInterface({ input: process.stdin, crlfDelay: Number.POSITIVE_INFINITY })) {
    lineNumber++;
    if (line.trim() === '') continue;
    let text: unknown;
    try {
      text = JSON.parse(line);
    } catch {
      throw new Error(`line ${lineNumber}: not JSON`);
    }
    if (typeof text !== 'string') throw new Error(`line ${lineNumber}: expected a JSON string`);
    process.stdout.write(`${JSON.stringify(toModelInput(tokenizer, tokenizer.encode(text)))}\n`);
  }
}

function show(tokenizer: ReturnType<typeof loadTokenizerDir>, prompt: string): void {
  const result = tokenizeWeighted(tokenizer, prompt, { maxChunks: LIMITS.maxPromptChunks });
  for (const [c, chunk] of result.chunks.entries()) {
    console.log(`chunk ${c + 1} of ${result.chunkCount}`);
    console.log('  pos  id      weight  token');
    // Rows up to the chunk's EOS; the padding after it is summarized in one line.
    const eos = chunk.ids.indexOf(tokenizer.eos, 1);
    for (let i = 0; i <= eos; i++) {
      const id = String(chunk.ids[i]).padEnd(6);
      const weight = chunk.weights[i].toFixed(4).padEnd(6);
      console.log(
        `  ${String(i).padStart(3)}  ${id}  ${weight}  ${tokenizer.idToToken(chunk.ids[i]) ?? '?'}`,
      );
    }
    if (eos + 1 < chunk.ids.length)
      console.log(`       padding to ${tokenizer.maxLength} with id ${tokenizer.pad}`);
  }
  console.log(
    `tokens: ${result.tokenCount}, chunks: ${result.chunkCount} (at most ${LIMITS.maxPromptChunks})`,
  );
  console.log(`ids: ${JSON.stringify(result.chunks.map((c) => c.ids))}`);
}

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      tokenizer: { type: 'string' },
      jsonl: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) return void console.log(USAGE);
  const tokenizer = loadTokenizerDir(resolve(values.tokenizer ?? BUNDLED_TOKENIZER));
  if (values.jsonl) return jsonl(tokenizer);
  if (positionals.length !== 1) throw new Error(`give exactly one prompt (quote it)\n${USAGE}`);
  show(tokenizer, positionals[0]);
}

main().catch((error: Error) => {
  console.error(`error: ${error.message}`);
  process.exitCode = 1;
});
