// The tokenize CLI's --jsonl mode against every reference case: its output is what other tools
// compare with, so it must equal the reference tokenizer's 77 ids exactly.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { referenceDir, reportCases } from '../../test/reference.ts';
import { runCli } from './support/run-cli.ts';

const dir = referenceDir('clip-tokenizer');

describe.skipIf(!dir)('tokenize CLI --jsonl parity', () => {
  it('prints the reference ids for every case of tokens.json', () => {
    const reference = JSON.parse(readFileSync(join(dir as string, 'tokens.json'), 'utf8')) as {
      cases: { text: string; ids: number[] }[];
    };
    const input = reference.cases.map((c) => JSON.stringify(c.text)).join('\n');
    const { status, stdout, stderr } = runCli(
      'shared/src/cli/tokenize.ts',
      ['--tokenizer', dir as string, '--jsonl'],
      input,
    );
    expect(status, stderr).toBe(0);
    // Blank-line prompts are skipped by the CLI, so compare only cases whose JSON line is non-blank.
    const lines = stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as number[]);
    const failures = reference.cases.filter((c, i) => JSON.stringify(lines[i]) !== JSON.stringify(c.ids));
    reportCases('tokenize CLI --jsonl', reference.cases.length - failures.length, reference.cases.length);
    expect(failures.map((c) => c.text)).toEqual([]);
  });
});
