// Our CLIP tokenizer against Hugging Face's in JavaScript (transformers.js `CLIPTokenizer`), both
// built from the reference vocab.json and merges.txt, on the same prompts in the same run:
// cold load and first prompt (fresh processes), throughput of full 77-id model inputs (warmed up,
// interleaved rounds, median), and exact matches with the reference ids. `npm run bench -- tokenizer`.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { env } from '@huggingface/transformers';
import { readTokenizerDir } from '../../shared/src/node/tokenizer-dir.ts';
import { type ClipTokenizer, toModelInput } from '../../shared/src/tokenizer/clip-tokenizer.ts';
import { compileTokenizer, loadCompiledTokenizer } from '../../shared/src/tokenizer/compiled-tokenizer.ts';
import {
  createClipTokenizer,
  readTokenizerFiles,
  type TokenizerFiles,
} from '../../shared/src/tokenizer/tokenizer-files.ts';
import { referenceDir } from '../reference.ts';
import { clipTokenizerJson, createHfClipTokenizer, hfModelInput } from './support/hf-clip-tokenizer.ts';
import { formatLoad, machine } from './support/machine.ts';
import { SD_PROMPTS } from './support/sd-prompts.ts';
import { median } from './support/stats.ts';
import type { ColdLoad } from './support/tokenizer-cold-load.ts';

/** Fresh processes per tokenizer for the cold numbers, after one discarded process that warms disk caches. */
const COLD_RUNS = 5;
const WARMUP_PASSES = 3;
const ROUNDS = 15;
/** Each timed round repeats the prompt set until it lasts about this long. */
const ROUND_MS = 120;
const MODEL_LENGTH = 77;

interface TokenCase {
  text: string;
  ids: number[];
  truncated: boolean;
  differs_without_ftfy: boolean;
  differs_without_html_unescape: boolean;
  differs_without_ftfy_and_html_unescape: boolean;
}

type ModelInput = (text: string) => number[];

interface Contender {
  name: string;
  coldMode: 'compiled' | 'files' | 'peer';
  /** SD 1.x (pad `<|endoftext|>`) and SD 2.x (pad `!`) model inputs. */
  sd1: ModelInput;
  sd2: ModelInput;
}

interface Mismatch {
  file: string;
  c: TokenCase;
  got: number[];
}

const now = () => performance.now();

const sameIds = (a: readonly number[], b: readonly number[]) =>
  a.length === b.length && a.every((id, i) => id === b[i]);

function coldLoads(mode: Contender['coldMode'], path: string): ColdLoad {
  const child = fileURLToPath(new URL('./support/tokenizer-cold-load.ts', import.meta.url));
  // process.execArgv carries tsx's loader, so the child runs TypeScript the way this process does.
  const result = spawnSync(process.execPath, [...process.execArgv, child, mode, path], {
    encoding: 'utf8',
    env: { ...process.env, HF_HUB_OFFLINE: '1', TRANSFORMERS_OFFLINE: '1' },
  });
  if (result.status !== 0) {
    throw new Error(`cold load (${mode}) exited with ${result.status}: ${result.stderr || result.error}`);
  }
  return JSON.parse(result.stdout.trim().split('\n').at(-1) ?? '') as ColdLoad;
}

/** Milliseconds for `reps` passes over `prompts`; checks every output is a full model input. */
function timePasses(encode: ModelInput, prompts: readonly string[], reps: number): number {
  let ids = 0;
  const start = now();
  for (let r = 0; r < reps; r++) for (const text of prompts) ids += encode(text).length;
  const ms = now() - start;
  if (ids !== reps * prompts.length * MODEL_LENGTH) throw new Error('an output is not 77 ids long');
  return ms;
}

/** Median µs per prompt over interleaved rounds (the order rotates, so load drifts hit all alike). */
function throughput(contenders: Contender[], prompts: readonly string[]): number[] {
  const reps = contenders.map((c) => {
    for (let i = 0; i < WARMUP_PASSES; i++) timePasses(c.sd1, prompts, 1);
    return Math.max(1, Math.round(ROUND_MS / timePasses(c.sd1, prompts, 1)));
  });
  const samples: number[][] = contenders.map(() => []);
  for (let round = 0; round < ROUNDS; round++) {
    for (let k = 0; k < contenders.length; k++) {
      const i = (round + k) % contenders.length;
      const ms = timePasses(contenders[i].sd1, prompts, reps[i]);
      samples[i].push((ms * 1000) / (reps[i] * prompts.length));
    }
  }
  return samples.map(median);
}

function reason(m: Mismatch): string {
  if (m.c.truncated && sameIds(m.got.slice(0, -1), m.c.ids.slice(0, -1))) {
    return 'truncation cuts after BOS/EOS are added: raw[75] in the last slot instead of EOS';
  }
  if (m.c.differs_without_ftfy) return 'no ftfy';
  if (m.c.differs_without_html_unescape) return 'no html.unescape';
  if (m.c.differs_without_ftfy_and_html_unescape) return 'no ftfy and no html.unescape';
  return 'other';
}

function describe(m: Mismatch): string {
  const at = m.got.findIndex((id, i) => id !== m.c.ids[i]);
  const window = (ids: number[]) => `[${ids.slice(Math.max(0, at - 2), at + 4).join(', ')}]`;
  const text = m.c.text.length > 60 ? `${m.c.text.slice(0, 57)}...` : m.c.text;
  return `- ${JSON.stringify(text)} (${m.file}): from id ${at} want ${window(m.c.ids)} got ${window(m.got)}: ${reason(m)}`;
}

const fmt = (n: number, digits = 1) =>
  n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });

export async function run(): Promise<void> {
  const dir = referenceDir('clip-tokenizer');
  if (!dir) {
    console.log('tokenizer benchmark skipped: no clip-tokenizer reference data (set REFERENCE_DIR)');
    return;
  }
  const loadBefore = formatLoad();
  const started = now();
  const reference = (file: string) =>
    (JSON.parse(readFileSync(join(dir, file), 'utf8')) as { cases: TokenCase[] }).cases;
  const cases = { 'tokens.json': reference('tokens.json'), 'tokens_sd2.json': reference('tokens_sd2.json') };
  const referencePrompts = [...cases['tokens.json'], ...cases['tokens_sd2.json']].map((c) => c.text);

  // The tokenizers, SD 1.x and SD 2.x (the model's special_tokens_map names `!` as pad).
  const files = readTokenizerDir(dir);
  const sd2Files: TokenizerFiles = { ...files, specialTokensMapJson: JSON.stringify({ pad_token: '!' }) };
  const blob = compileTokenizer(readTokenizerFiles(files));
  const ours = (tokenizer: ClipTokenizer): ModelInput => {
    return (text) => toModelInput(tokenizer, tokenizer.encode(text));
  };
  const tokenizerJson = clipTokenizerJson(files.vocabJson, files.mergesTxt);
  const peer = (padToken?: string): ModelInput => {
    const tokenizer = createHfClipTokenizer(tokenizerJson, padToken);
    return (text) => hfModelInput(tokenizer, text);
  };
  const contenders: Contender[] = [
    {
      name: 'ours, compiled blob (`loadCompiledTokenizer`)',
      coldMode: 'compiled',
      sd1: ours(loadCompiledTokenizer(blob)),
      sd2: ours(loadCompiledTokenizer(compileTokenizer(readTokenizerFiles(sd2Files)))),
    },
    {
      name: 'ours, from files (`createClipTokenizer`)',
      coldMode: 'files',
      sd1: ours(createClipTokenizer(files)),
      sd2: ours(createClipTokenizer(sd2Files)),
    },
    {
      name: `HF transformers.js ${env.version} \`CLIPTokenizer\``,
      coldMode: 'peer',
      sd1: peer(),
      sd2: peer('!'),
    },
  ];

  // 1. Accuracy: every reference case, exact 77 ids.
  const mismatches = contenders.map((contender) => {
    const wrong: Mismatch[] = [];
    for (const [file, list] of Object.entries(cases)) {
      const encode = file === 'tokens.json' ? contender.sd1 : contender.sd2;
      for (const c of list) {
        const got = encode(c.text);
        if (!sameIds(got, c.ids)) wrong.push({ file, c, got });
      }
    }
    return wrong;
  });

  // 2. Cold load, in fresh processes.
  const scratch = mkdtempSync(join(tmpdir(), 'latent-edge-bench-'));
  const blobPath = join(scratch, 'clip.tokenizer.bin');
  writeFileSync(blobPath, blob);
  const cold: ColdLoad[][] = contenders.map(() => []);
  try {
    for (let runIndex = 0; runIndex <= COLD_RUNS; runIndex++) {
      contenders.forEach((c, i) => {
        const result = coldLoads(c.coldMode, c.coldMode === 'compiled' ? blobPath : dir);
        if (runIndex > 0) cold[i].push(result);
      });
    }
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }

  // 3. Throughput, reference prompts and typical SD prompts.
  const referenceUs = throughput(contenders, referencePrompts);
  const sdUs = throughput(contenders, SD_PROMPTS);

  const total = referencePrompts.length;
  const sdLengths = SD_PROMPTS.map((p) => loadCompiledTokenizer(blob).encode(p).length);
  const referenceRatio = referenceUs[2] / referenceUs[0];
  const sdRatio = sdUs[2] / sdUs[0];
  const coldMedian = (i: number, key: keyof ColdLoad) => median(cold[i].map((r) => r[key] ?? 0));
  const lines = [
    `## CLIP tokenizer: ours vs ${contenders[2].name}`,
    '',
    `Machine: ${machine()}. Load average (1/5/15 min): ${loadBefore} at start, ${formatLoad()} at end.`,
    '',
    '| tokenizer | cold load ms | first prompt ms | prompts/s | µs/prompt | exact cases |',
    '|---|---:|---:|---:|---:|---:|',
    ...contenders.map(
      (c, i) =>
        `| ${c.name} | ${fmt(coldMedian(i, 'loadMs'), 2)} | ${fmt(coldMedian(i, 'firstPromptMs'), 2)} | ` +
        `${fmt(1e6 / referenceUs[i], 0)} | ${fmt(referenceUs[i])} | ${total - mismatches[i].length}/${total} |`,
    ),
    '',
    `Typical SD prompts (${SD_PROMPTS.length} prompts, ${Math.min(...sdLengths)}-${Math.max(...sdLengths)} tokens):`,
    '',
    '| tokenizer | prompts/s | µs/prompt |',
    '|---|---:|---:|',
    ...contenders.map((c, i) => `| ${c.name} | ${fmt(1e6 / sdUs[i], 0)} | ${fmt(sdUs[i])} |`),
    '',
    `Throughput ours (compiled) / peer: ${fmt(referenceRatio, 2)}× on the reference prompts, ` +
      `${fmt(sdRatio, 2)}× on the SD prompts. Goal ≥3× with exact ids: ` +
      (referenceRatio >= 3 && sdRatio >= 3 && mismatches[0].length === 0 ? 'met.' : 'NOT met.'),
    '',
    'How it was measured:',
    `- Cold load and first prompt: median of ${COLD_RUNS} fresh Node processes per tokenizer (after one ` +
      'discarded warm-up process each). Cold load is making the tokenizer from data in memory: ours compiled ' +
      '= `loadCompiledTokenizer(blob)`; ours from files = `createClipTokenizer(readTokenizerDir(dir))`, disk ' +
      'reads included; peer = `new CLIPTokenizer(tokenizerJson, config)` on an already parsed object. First ' +
      'prompt = the first 77-id encode in that process (regex compilation, cold code).',
    ...contenders.map(
      (c, i) =>
        `  - ${c.name}: load ${cold[i].map((r) => fmt(r.loadMs, 1)).join(', ')} ms; first prompt ` +
        `${cold[i].map((r) => fmt(r.firstPromptMs, 1)).join(', ')} ms; module import ${fmt(coldMedian(i, 'importMs'), 0)} ms` +
        (c.coldMode === 'peer'
          ? `; JSON.parse of tokenizer.json ${fmt(coldMedian(i, 'parseMs'), 0)} ms`
          : ''),
    ),
    `- Throughput: ${total} reference prompts (tokens.json + tokens_sd2.json) and the SD prompts, each to a ` +
      `full 77-id model input with the SD 1.x tokenizers; ${WARMUP_PASSES} warm-up passes, then ${ROUNDS} ` +
      `interleaved rounds of ~${ROUND_MS} ms each, median. Both tokenizers cache words, so later rounds are ` +
      'mostly cache hits, as in a long-running service.',
    '- Exact cases: all 77 ids equal to the reference, SD 1.x cases padded with 49407, SD 2.x cases with 0.',
    '',
  ];
  contenders.forEach((c, i) => {
    if (mismatches[i].length === 0) return;
    const tally = new Map<string, number>();
    for (const m of mismatches[i]) tally.set(reason(m), (tally.get(reason(m)) ?? 0) + 1);
    lines.push(
      `Mismatches of ${c.name}: ${mismatches[i].length} (` +
        [...tally].map(([why, n]) => `${n} ${why}`).join('; ') +
        '). Examples:',
    );
    const examples = [...tally.keys()].flatMap((why) =>
      mismatches[i].filter((m) => reason(m) === why).slice(0, 2),
    );
    lines.push(...examples.slice(0, 8).map(describe), '');
  });
  lines.push(`(benchmark took ${fmt((now() - started) / 1000)} s)`);
  console.log(lines.join('\n'));
}
