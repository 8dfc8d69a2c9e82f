// The edge as Cloudflare would run it: `wrangler deploy --dry-run` bundles edge/src/index.ts with
// wrangler.toml's build command (which compiles the tokenizers), rules and minification, exactly as
// a deploy does, and wrangler turns wrangler.toml's bindings into Miniflare worker options. The
// benchmark runs that bundle in workerd through Miniflare: one workerd process, no dev proxy in
// front, local state in a folder of its own.
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import type { WorkerOptions } from 'miniflare';
import { unstable_getMiniflareWorkerOptions } from 'wrangler';

const ROOT = resolve(import.meta.dirname, '../../..');
const CONFIG = join(ROOT, 'wrangler.toml');
const WRANGLER = createRequire(import.meta.url).resolve('wrangler/bin/wrangler.js');

export interface EdgeBundle {
  /** The folder holding index.js and the modules it imports (the compiled tokenizers). */
  dir: string;
  /**
   * Miniflare options for the bundle with wrangler.toml's bindings, vars and rules, plus `bindings`;
   * `entry` names another module of the folder as the Worker's main module.
   */
  options: (bindings: Record<string, string>, entry?: { name: string; module: string }) => WorkerOptions;
}

function wranglerDryRun(outDir: string): Promise<void> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(
      process.execPath,
      [WRANGLER, 'deploy', '--dry-run', '--outdir', outDir, '--config', CONFIG],
      {
        cwd: ROOT,
        env: { ...process.env, WRANGLER_SEND_METRICS: 'false' },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let output = '';
    child.stdout.on('data', (d) => {
      output += d;
    });
    child.stderr.on('data', (d) => {
      output += d;
    });
    child.on('error', reject);
    child.on('exit', (code) =>
      code === 0
        ? resolvePromise()
        : reject(new Error(`wrangler deploy --dry-run exited ${code}:\n${output}`)),
    );
  });
}

export async function buildEdgeBundle(outDir: string): Promise<EdgeBundle> {
  await wranglerDryRun(outDir);
  const { workerOptions } = unstable_getMiniflareWorkerOptions(CONFIG);
  return {
    dir: outDir,
    options: (bindings, entry = { name: 'latent-edge', module: 'index.js' }) => ({
      ...(workerOptions as WorkerOptions),
      name: entry.name,
      modules: true,
      scriptPath: join(outDir, entry.module),
      modulesRoot: outDir,
      // The bundle's .js files are ES modules (Miniflare would take an imported .js for CommonJS).
      modulesRules: [{ type: 'ESModule', include: ['**/*.js'] }, ...(workerOptions.modulesRules ?? [])],
      bindings: { ...workerOptions.bindings, ...bindings },
    }),
  };
}
