// `npm start`: runs the local stack. Today only the pipeline exists as a runnable piece, so this
// generates one image with the bundled model and says how to go further; the gpu-worker service
// and the edge will be started from here once they exist.
import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '../..');
const out = resolve(root, '.local/first-image.png');
mkdirSync(dirname(out), { recursive: true });

console.log('latent-edge: the HTTP services (gpu-worker, edge) are not built yet.');
console.log('Generating one image with the bundled model instead...\n');
const result = spawnSync(
  process.execPath,
  [
    '--import',
    'tsx',
    'gpu-worker/src/cli/generate.ts',
    '--prompt',
    'a red circle on a blue background',
    '--seed',
    '42',
    '--out',
    out,
  ],
  { cwd: root, stdio: 'inherit' },
);
if (result.status === 0) {
  console.log(`\nOpen ${out}, or try: npm run generate -- --prompt "a small green star" --out star.png`);
}
process.exitCode = result.status ?? 1;
