// A model's revision: SHA-256 over its files' relative paths and contents, so any change of
// weights, tokenizer or scheduler config gives a new revision (and new cache keys). Hashing a
// multi-gigabyte export takes seconds, so the result is remembered in a sidecar keyed by each
// file's size and modification time.
import { createHash } from 'node:crypto';
import { createReadStream, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';

const SIDECAR = '.latent-edge-revision.json';

/**
 * Add-ons served with the model, identified by their own hashes: adding one keeps the revision.
 * Embeddings are not among them: they change what a prompt's words mean, so they are the model.
 */
const ADD_ONS = new Set(['loras']);

function listFiles(dir: string, top = true): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name.startsWith('.') || (top && entry.isDirectory() && ADD_ONS.has(entry.name))) continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...listFiles(path, false));
    else if (entry.isFile()) out.push(path);
  }
  return out.sort();
}

async function hashFile(hash: ReturnType<typeof createHash>, path: string): Promise<void> {
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
}

export async function modelRevision(dir: string): Promise<string> {
  const files = listFiles(dir);
  const fingerprint = files.map((f) => {
    const s = statSync(f);
    return `${relative(dir, f)}:${s.size}:${s.mtimeMs}`;
  });
  try {
    const cached = JSON.parse(readFileSync(join(dir, SIDECAR), 'utf8')) as {
      fingerprint: string[];
      revision: string;
    };
    if (JSON.stringify(cached.fingerprint) === JSON.stringify(fingerprint)) return cached.revision;
  } catch {
    // No usable sidecar: hash the files.
  }
  const hash = createHash('sha256');
  for (const file of files) {
    hash.update(`${relative(dir, file)}\0`);
    await hashFile(hash, file);
  }
  const revision = hash.digest('hex').slice(0, 16);
  try {
    writeFileSync(join(dir, SIDECAR), JSON.stringify({ fingerprint, revision }));
  } catch {
    // A read-only model volume is fine: the hash is recomputed next start.
  }
  return revision;
}
