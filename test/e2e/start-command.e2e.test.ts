// `npm start` itself (infra/dev/start.ts) run as a developer runs it, with `--state-dir` so its
// secrets, key and wrangler state go to a temporary folder instead of the checkout's: it prints
// "ready" with a curl that works, hands the edge its Discord settings from the environment, and
// on SIGTERM stops both children (with wrangler's workerd) and exits 0.
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseEnv } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { assertPortFree } from '../../infra/dev/ports.ts';
import { freePorts } from '../support/free-ports.ts';
import { pngSize } from '../support/png.ts';

const ROOT = resolve(import.meta.dirname, '../..');
const dir = mkdtempSync(join(tmpdir(), 'latent-edge-start-'));
let child: ChildProcess | undefined;

afterAll(async () => {
  // Only when the test failed before its own SIGTERM: start.ts then stops its children.
  if (child && child.exitCode === null && child.signalCode === null) {
    const running = child;
    const exited = new Promise((resolve) => running.once('exit', resolve));
    running.kill('SIGTERM');
    await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 20_000))]);
  }
  rmSync(dir, { recursive: true, force: true });
});

/** Processes whose command line mentions `text` (Linux /proc). */
function processesMentioning(text: string): string[] {
  return readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .flatMap((pid) => {
      try {
        const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
        return cmdline.includes(text) ? [`${pid}: ${cmdline}`] : [];
      } catch {
        return [];
      }
    });
}

describe('npm start', () => {
  it('prints ready with a working curl, passes Discord settings on, and stops everything on SIGTERM', async () => {
    const [edgePort, gpuPort] = await freePorts(2);
    const key = `le_${randomBytes(32).toString('base64url')}`;
    child = spawn(process.execPath, ['--import', 'tsx', 'infra/dev/start.ts', '--state-dir', dir], {
      cwd: ROOT,
      env: {
        ...process.env,
        EDGE_PORT: String(edgePort),
        GPU_PORT: String(gpuPort),
        LATENT_EDGE_DEV_KEY: key,
        DISCORD_APPLICATION_ID: '123456789012345678',
        INTRA_OP_THREADS: '1',
        WRANGLER_LOG_PATH: join(dir, 'wrangler-logs'),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout?.on('data', (chunk) => {
      output += chunk;
    });
    child.stderr?.on('data', (chunk) => {
      output += chunk;
    });
    // 'close', not 'exit': a child's last lines can still be in the pipe when it has exited.
    const exited = new Promise<number | null>((resolve) => child?.once('close', (code) => resolve(code)));
    await Promise.race([
      new Promise<void>((resolve) => {
        const timer = setInterval(() => {
          if (output.includes('Ctrl-C stops both.')) {
            clearInterval(timer);
            resolve();
          }
        }, 100);
      }),
      exited.then((code) => {
        throw new Error(`npm start exited with ${code} before it was ready:\n${output}`);
      }),
    ]);

    // Each child's lines carry its prefix; then "ready" and a curl for this key and port.
    expect(output).toMatch(/^\[gpu\] .*ready/m);
    expect(output).toMatch(/^\[edge\] .*Ready on/m);
    expect(output).toMatch(/^ready in \d+\.\d s$/m);
    const curl =
      /curl -H "Authorization: Bearer (\S+)" -H "Content-Type: application\/json" \\\n\s+-d '([^']+)' (\S+)$/m.exec(
        output,
      );
    expect(curl, output).not.toBeNull();
    const [, shownKey, body, url] = curl as RegExpExecArray;
    expect(shownKey).toBe(key);
    expect(url).toBe(`http://127.0.0.1:${edgePort}/v1/images`);
    const response = await fetch(url, {
      method: 'POST',
      headers: { Authorization: `Bearer ${shownKey}`, 'Content-Type': 'application/json' },
      body,
    });
    expect(response.status).toBe(200);
    const { images } = (await response.json()) as { images: { url: string }[] };
    const png = new Uint8Array(await (await fetch(images[0].url)).arrayBuffer());
    expect(pngSize(png)).toEqual({ width: 64, height: 64 }); // the model's default size

    // Secrets generated into the state folder, readable by this user only; the edge's overrides
    // point it at this gpu-worker and carry the Discord setting from the environment.
    const devVars = join(dir, 'dev.vars');
    expect(statSync(devVars).mode & 0o777).toBe(0o600);
    const secrets = parseEnv(readFileSync(devVars, 'utf8'));
    for (const name of ['GPU_SHARED_SECRET', 'CACHE_KEY_SECRET', 'WEBHOOK_SECRET']) {
      expect(secrets[name]?.length).toBeGreaterThanOrEqual(32);
    }
    const overrides = parseEnv(readFileSync(join(dir, 'edge.env'), 'utf8'));
    expect(overrides).toMatchObject({
      GPU_WORKERS: `http://127.0.0.1:${gpuPort}`,
      DISCORD_APPLICATION_ID: '123456789012345678',
    });
    // The key came from the environment, so it is not saved.
    expect(existsSync(join(dir, 'dev-key'))).toBe(false);

    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(output).toContain('[start] SIGTERM: stopping the edge and the gpu-worker');
    // Nothing is left: both ports are free, no process names the state folder, and the
    // overrides file (it may hold tokens) is gone.
    await assertPortFree(edgePort, 'edge');
    await assertPortFree(gpuPort, 'gpu-worker');
    expect(processesMentioning(dir)).toEqual([]);
    expect(existsSync(join(dir, 'edge.env'))).toBe(false);
  });
});
