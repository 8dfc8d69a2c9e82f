// Locates the reference data for parity suites: the folder named by REFERENCE_DIR, else
// ../shared/reference beside the repository. Suites skip, saying so, when neither exists.
import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');

export function referenceRoot(): string {
  return process.env.REFERENCE_DIR
    ? resolve(process.env.REFERENCE_DIR)
    : resolve(repoRoot, '../shared/reference');
}

/** The reference sub-folder (e.g. `clip-tokenizer`), or null with a printed reason when absent. */
export function referenceDir(subfolder: string): string | null {
  const dir = resolve(referenceRoot(), subfolder);
  if (existsSync(dir)) return dir;
  console.warn(`[reference] ${dir} not found: skipping the ${subfolder} parity suite`);
  return null;
}

/** Prints the per-suite tally that `npm run test:reference` promises. */
export function reportCases(suite: string, passed: number, total: number): void {
  console.log(`[reference] ${suite}: ${passed}/${total} cases passed`);
}
