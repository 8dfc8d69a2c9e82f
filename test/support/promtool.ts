// Runs Debian's promtool (package `prometheus`; .ci/run installs it) on files a test writes, and
// hands back its exit code and output. A missing promtool fails the test with the install line,
// rather than skipping a check of the deployment's rules.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';

export interface PromtoolRun {
  status: number | null;
  output: string;
}

/** Runs promtool with `args`, and `input` on its stdin when given (`check metrics` reads it there). */
export function promtool(args: readonly string[], input?: string): PromtoolRun {
  const run = spawnSync('promtool', args, { encoding: 'utf8', input });
  if (run.error) {
    throw new Error(`promtool did not run (${run.error.message}): apt-get install prometheus`);
  }
  return { status: run.status, output: `${run.stdout}${run.stderr}` };
}

/** A fresh temporary folder for the files of one promtool run. */
export function scratchDir(): string {
  return mkdtempSync(join(tmpdir(), 'latent-edge-promtool-'));
}

/** Writes `document` as YAML to `dir`/`name` and returns the file's path. */
export function writeYamlFile(dir: string, name: string, document: unknown): string {
  const path = join(dir, name);
  writeFileSync(path, stringify(document));
  return path;
}
