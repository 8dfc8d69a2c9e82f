// A copy of the bundled model with LoRA files in its `loras/` folder, for tests that need a
// model serving LoRAs (the library scans the model's own folder, as the worker does).
import { cpSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve, sep } from 'node:path';
import { BUNDLED_MODEL } from './models.ts';

export const LORA_FIXTURES = resolve(import.meta.dirname, '../fixtures/loras');

/** `loras` and `embeddings`: file name (with extension) → bytes. */
export function modelWithLoras(
  loras: Record<string, Uint8Array>,
  source = BUNDLED_MODEL,
  embeddings: Record<string, Uint8Array> = {},
): string {
  const dir = join(mkdtempSync(join(tmpdir(), 'latent-edge-loras-')), 'tiny-sd');
  // The source's own add-ons stay behind: the copy serves exactly the LoRAs given.
  const skipped = ['.latent-edge-revision.json', `${sep}loras`, `${sep}embeddings`].map(
    (end) => source + (end.startsWith(sep) ? end : sep + end),
  );
  cpSync(source, dir, { recursive: true, filter: (path) => !skipped.includes(path) });
  mkdirSync(join(dir, 'loras'), { recursive: true });
  for (const [name, bytes] of Object.entries(loras)) writeFileSync(join(dir, 'loras', name), bytes);
  if (Object.keys(embeddings).length > 0) mkdirSync(join(dir, 'embeddings'));
  for (const [name, bytes] of Object.entries(embeddings)) writeFileSync(join(dir, 'embeddings', name), bytes);
  return dir;
}
