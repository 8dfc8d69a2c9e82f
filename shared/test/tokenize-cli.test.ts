import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from './support/run-cli.ts';
import { tinyTokenizerFiles } from './support/tiny-vocab.ts';

const CLI = 'shared/src/cli/tokenize.ts';

function tinyTokenizerDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'tokenizer-'));
  const files = tinyTokenizerFiles(['c a', 'ca t</w>', 'r e', 're d</w>']);
  writeFileSync(join(dir, 'vocab.json'), files.vocabJson);
  writeFileSync(join(dir, 'merges.txt'), files.mergesTxt);
  return dir;
}

describe('tokenize CLI', () => {
  const dir = tinyTokenizerDir();

  it('prints tokens, ids, weights and counts', () => {
    const { status, stdout } = runCli(CLI, ['--tokenizer', dir, 'a (red:1.5) [cat]']);
    expect(status).toBe(0);
    // red</w> is merge 2 of this vocabulary (id 512 + 3); cat</w> is id 513; weights by A1111 rules.
    expect(stdout).toMatch(/ 2 {2}515 {5}1\.5000 {2}red<\/w>/);
    expect(stdout).toMatch(/ 3 {2}513 {5}0\.9091 {2}cat<\/w>/);
    expect(stdout).toContain('tokens: 3, chunks: 1 (at most 3)');
  });

  it('writes 77 padded ids per JSON line with --jsonl', () => {
    const { status, stdout } = runCli(CLI, ['--tokenizer', dir, '--jsonl'], '"cat"\n\n"red cat"\n');
    expect(status).toBe(0);
    const lines = stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as number[]);
    expect(lines).toHaveLength(2);
    const eos = 517; // after the 4 merges: <|startoftext|> 516, <|endoftext|> 517
    expect(lines[0]).toEqual([516, 513, ...new Array(75).fill(eos)]);
    expect(lines[1].slice(0, 4)).toEqual([516, 515, 513, eos]);
    expect(lines[1]).toHaveLength(77);
  });

  it('fails clearly on a line that is not a JSON string and on a missing tokenizer', () => {
    const bad = runCli(CLI, ['--tokenizer', dir, '--jsonl'], '"ok"\n{"a":1}\n');
    expect(bad.status).toBe(1);
    expect(bad.stderr).toContain('line 2: expected a JSON string');
    const missing = runCli(CLI, ['--tokenizer', join(dir, 'nope'), 'cat']);
    expect(missing.status).toBe(1);
    expect(missing.stderr).toMatch(/has no vocab\.json/);
  });
});
