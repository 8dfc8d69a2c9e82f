// `.dev.vars` as `npm start` leaves it: generated where absent, completed where the example's
// placeholders or a secret are missing, and otherwise exactly as the developer wrote it.
import { copyFileSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseEnv } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { DEV_SECRETS, ensureDevVars, envLine } from './dev-vars.ts';

const dir = mkdtempSync(join(tmpdir(), 'latent-edge-dev-vars-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('ensureDevVars', () => {
  it('creates the file with three distinct random secrets, readable by the owner only', () => {
    const path = join(dir, 'fresh', '.dev.vars');
    const { secrets, generated } = ensureDevVars(path);
    expect(generated).toEqual([...DEV_SECRETS]);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    const written = parseEnv(readFileSync(path, 'utf8'));
    for (const name of DEV_SECRETS) {
      expect(written[name]).toBe(secrets[name]);
      expect(secrets[name]).toMatch(/^[A-Za-z0-9_-]{43}$/); // 32 random bytes, base64url
    }
    expect(new Set(Object.values(secrets)).size).toBe(3);
  });

  it("replaces .dev.vars.example's placeholders in place and keeps every other line", () => {
    const path = join(dir, 'from-example.vars');
    copyFileSync(resolve(import.meta.dirname, '../../.dev.vars.example'), path);
    const before = readFileSync(path, 'utf8');
    const { secrets, generated } = ensureDevVars(path);
    expect(generated).toEqual([...DEV_SECRETS]);
    const after = readFileSync(path, 'utf8');
    expect(after).not.toContain('replace-with-');
    for (const name of DEV_SECRETS) expect(parseEnv(after)[name]).toBe(secrets[name]);
    // Line for line the example, with each placeholder replaced where it was (under its comment).
    const expected = before
      .split('\n')
      .map((line) =>
        line.replace(
          /^(\w+)="replace-with-[^"]*"$/,
          (_, name: keyof typeof secrets) => `${name}="${secrets[name]}"`,
        ),
      );
    expect(after.split('\n')).toEqual(expected);
  });

  it("completes a developer's file without touching the values already set", () => {
    const path = join(dir, 'partial.vars');
    const mine = 'my-own-shared-secret-0123456789abcdef';
    writeFileSync(path, `# mine\nGPU_SHARED_SECRET="${mine}"\nDISCORD_PUBLIC_KEY="abc"\n`);
    const { secrets, generated } = ensureDevVars(path);
    expect(generated).toEqual(['CACHE_KEY_SECRET', 'WEBHOOK_SECRET']);
    expect(secrets.GPU_SHARED_SECRET).toBe(mine);
    const text = readFileSync(path, 'utf8');
    expect(text.startsWith(`# mine\nGPU_SHARED_SECRET="${mine}"\nDISCORD_PUBLIC_KEY="abc"\n`)).toBe(true);

    // A second run finds everything and writes nothing.
    const again = ensureDevVars(path);
    expect(again.generated).toEqual([]);
    expect(again.secrets).toEqual(secrets);
    expect(readFileSync(path, 'utf8')).toBe(text);
  });
});

describe('envLine', () => {
  it('quotes plain tokens and refuses what a dotenv reader would change', () => {
    expect(envLine('DISCORD_BOT_TOKEN', 'MTE.abc-_x')).toBe('DISCORD_BOT_TOKEN="MTE.abc-_x"');
    expect(parseEnv(envLine('URL', 'http://127.0.0.1:8788')).URL).toBe('http://127.0.0.1:8788');
    for (const bad of ['a"b', 'a\nb', 'a\\b', '$HOME']) {
      expect(() => envLine('X', bad)).toThrow(/X: its value/);
    }
  });
});
