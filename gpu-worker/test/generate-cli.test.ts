// `npm run generate` as a user runs it, on the bundled model.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../../shared/test/support/run-cli.ts';
import { readPngText } from '../src/image/png-text.ts';

const CLI = 'gpu-worker/src/cli/generate.ts';
const out = mkdtempSync(join(tmpdir(), 'generate-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

const base = ['--prompt', 'a red circle on a blue background', '--steps', '6', '--size', '64x64'];

describe('generate CLI', () => {
  it('writes byte-identical files for the same seed and different ones for another seed', () => {
    const paths = ['a.png', 'b.png', 'c.png'].map((f) => join(out, f));
    const seeds = ['11', '11', '12'];
    for (const [i, path] of paths.entries()) {
      const run = runCli(CLI, [...base, '--seed', seeds[i], '--out', path]);
      expect(run.status, run.stderr).toBe(0);
      expect(run.stdout).toContain(`seed ${seeds[i]}`);
    }
    const [a, b, c] = paths.map((p) => readFileSync(p));
    expect(a.equals(b)).toBe(true);
    expect(a.equals(c)).toBe(false);
    expect(readPngText(a).parameters).toContain('Seed: 11, Size: 64x64');
  });

  it('writes n files with consecutive seeds', () => {
    const run = runCli(CLI, [...base, '--seed', '5', '--n', '2', '--out', join(out, 'many.png')]);
    expect(run.status, run.stderr).toBe(0);
    expect(readPngText(readFileSync(join(out, 'many-2.png'))).parameters).toContain('Seed: 6');
  });

  it.each([
    [['--size', '100x64'], 'width: must be a multiple of 8; got 100'],
    [['--size', '72x64'], 'width: 72 is not a multiple of 32, which this model needs'],
    [['--size', '4096x64'], 'width: Too big'],
    [['--scheduler', 'DPM++ 9M'], 'scheduler: unknown scheduler'],
    [['--steps', '0'], 'steps: Too small'],
    [['--steps', 'many'], '--steps: "many" is not a number'],
    [['--init-image', '/nonexistent.png'], '--init-image: /nonexistent.png does not exist'],
  ])('refuses %j before any model runs', (args, message) => {
    const path = join(out, 'refused.png');
    const run = runCli(CLI, ['--prompt', 'x', '--out', path, ...args]);
    expect(run.status).toBe(2);
    expect(run.stderr).toContain(message);
    expect(existsSync(path)).toBe(false);
  });

  it('refuses an init image it cannot read', () => {
    const bad = join(out, 'bad.png');
    writeFileSync(bad, 'not an image');
    const run = runCli(CLI, ['--prompt', 'x', '--out', join(out, 'x.png'), '--init-image', bad]);
    expect(run.status).toBe(2);
    expect(run.stderr).toContain('is not an image this tool can read');
  });
});
