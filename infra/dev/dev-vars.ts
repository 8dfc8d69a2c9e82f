// The edge's local secrets in `.dev.vars` (gitignored), the file `wrangler dev` reads: created with
// fresh random values on the first run, completed when a secret is missing or still holds the
// `.dev.vars.example` placeholder, and otherwise left as the developer wrote it. The gpu-worker
// is started with the same GPU_SHARED_SECRET, read back from here.
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { parseEnv } from 'node:util';

/** Secrets the local stack needs: job signing, cache keys, webhook signing. */
export const DEV_SECRETS = ['GPU_SHARED_SECRET', 'CACHE_KEY_SECRET', 'WEBHOOK_SECRET'] as const;
export type DevSecrets = Record<(typeof DEV_SECRETS)[number], string>;

/** `.dev.vars.example` says "replace-with-…": such a value was copied, not chosen. */
const PLACEHOLDER = /^replace-with-/;

const HEADER = `# Local secrets for \`wrangler dev\`, written by \`npm start\` (infra/dev). Never commit this file;
# in production set each with \`npx wrangler secret put <NAME>\`.
`;

export function randomSecret(): string {
  return randomBytes(32).toString('base64url');
}

/** A `KEY="value"` line; refuses values a dotenv reader would not give back unchanged. */
export function envLine(name: string, value: string): string {
  if (/["\\\r\n]/.test(value) || value.includes('$')) {
    throw new Error(`${name}: its value contains a quote, backslash, $ or newline; pass a plain token`);
  }
  return `${name}="${value}"`;
}

export interface DevVars {
  secrets: DevSecrets;
  /** Names this call generated (empty when the file already had them all). */
  generated: string[];
}

export function ensureDevVars(path: string): DevVars {
  const original = existsSync(path) ? readFileSync(path, 'utf8') : '';
  const values = parseEnv(original);
  let lines = original === '' ? HEADER.trimEnd().split('\n') : original.replace(/\n$/, '').split('\n');
  const generated: string[] = [];
  for (const name of DEV_SECRETS) {
    const value = values[name];
    if (value && !PLACEHOLDER.test(value)) continue;
    const fresh = randomSecret();
    values[name] = fresh;
    generated.push(name);
    // In place when the name is assigned already (its comment stays above it), else at the end.
    const assignment = new RegExp(`^\\s*(export\\s+)?${name}\\s*=`);
    const first = lines.findIndex((line) => assignment.test(line));
    const line = envLine(name, fresh);
    if (first < 0) lines.push(line);
    else lines = lines.flatMap((text, i) => (i === first ? [line] : assignment.test(text) ? [] : [text]));
  }
  if (generated.length > 0) {
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, `${lines.join('\n')}\n`, { mode: 0o600 });
  }
  const secrets = Object.fromEntries(DEV_SECRETS.map((name) => [name, values[name] as string])) as DevSecrets;
  return { secrets, generated };
}

/** Writes a dotenv file only this user can read (wrangler's later --env-file overrides earlier ones). */
export function writeEnvFile(path: string, vars: Record<string, string>, comment: string): void {
  mkdirSync(dirname(path), { recursive: true });
  const body = Object.entries(vars).map(([name, value]) => envLine(name, value));
  writeFileSync(path, `# ${comment}\n${body.join('\n')}\n`, { mode: 0o600 });
}
