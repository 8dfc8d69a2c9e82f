// Runs one of the repository's CLIs as a user would, through tsx, and collects its output.
import { spawnSync } from 'node:child_process';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

export function runCli(script: string, args: string[], input?: string) {
  const result = spawnSync(process.execPath, ['--import', 'tsx', resolve(REPO_ROOT, script), ...args], {
    cwd: REPO_ROOT,
    input,
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
    timeout: 120_000,
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}
