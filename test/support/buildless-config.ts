// The edge's wrangler config for a test's `wrangler dev`, without its [build] step. wrangler runs
// a custom build once before it starts and again when its watcher on `watch_dir` is ready, which
// reloads workerd while the test is already talking to it; on a loaded machine that reload has
// failed to rebind its port ("Address already in use") and taken the edge down. The test compiles
// the tokenizers itself (the same step, once) and hands wrangler a config that has nothing to
// rebuild. Paths are made absolute, so the file works from the test's temporary folder.
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { experimental_readRawConfig } from 'wrangler';
import { compileModelTokenizers } from '../../infra/tokenizer/compile.ts';

const REPO_ROOT = resolve(import.meta.dirname, '../..');

/** Compiles the tokenizers, writes `<dir>/<name>.buildless.json` from `configPath`, returns its path. */
export async function writeBuildlessConfig(dir: string, configPath = join(REPO_ROOT, 'wrangler.toml')) {
  await compileModelTokenizers({ log: () => {} });
  const { rawConfig } = experimental_readRawConfig({ config: configPath });
  const { build: _build, ...rest } = rawConfig as Record<string, unknown> & { main?: string };
  const config = { ...rest, main: resolve(REPO_ROOT, rest.main ?? 'edge/src/index.ts') };
  const out = join(dir, 'edge.buildless.json');
  writeFileSync(out, `${JSON.stringify(config, null, 2)}\n`);
  return out;
}
