// The local API key: LATENT_EDGE_DEV_KEY when set, otherwise the one saved by an earlier run, or a
// new one saved for the next. It is stored in the edge's local API_KEYS namespace exactly as
// `npm run keys -- create` stores keys (the record from edge/src/auth/api-key.ts, through
// `wrangler kv key put --local` on the same persistence folder), before `wrangler dev` starts, so
// only one workerd ever opens that state at a time.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { ApiKeyRecord, generateApiKey, hashApiKey, newApiKeyRecord } from '../../edge/src/auth/api-key.ts';
import { runCommand } from './child-process.ts';
import { WRANGLER_BIN, wranglerEnv } from './wrangler-cli.ts';

export interface DevKeyOptions {
  root: string;
  persistTo: string;
  /** Where a generated key is kept between runs. */
  keyFile: string;
  /** A key chosen by the developer (LATENT_EDGE_DEV_KEY); never written to keyFile. */
  key?: string;
  /** The record's name in `npm run keys -- list`. */
  name?: string;
  /** WRANGLER_LOG_PATH (default: wrangler's, under ~/.config/.wrangler/logs). */
  wranglerLogPath?: string;
  /** Aborting it kills a wrangler call in progress (the stack is stopping). */
  signal?: AbortSignal;
}

export type DevKeySource = 'environment' | 'saved' | 'generated';

export interface DevKey {
  key: string;
  source: DevKeySource;
  /** True when this call wrote the key's record into the local KV. */
  stored: boolean;
  record: ApiKeyRecord;
}

const KEY_SHAPE = /^[A-Za-z0-9_-]{16,128}$/;

async function wranglerKv(options: DevKeyOptions, args: string[]): Promise<string> {
  const result = await runCommand({
    command: process.execPath,
    args: [
      WRANGLER_BIN,
      'kv',
      'key',
      ...args,
      '--binding',
      'API_KEYS',
      '--local',
      '--persist-to',
      options.persistTo,
      '--config',
      `${options.root}/wrangler.toml`,
    ],
    cwd: options.root,
    env: wranglerEnv(options.wranglerLogPath),
    signal: options.signal,
  });
  if (result.code !== 0) {
    throw new Error(`wrangler kv key ${args[0]} failed:\n${result.stderr || result.stdout}`);
  }
  return result.stdout;
}

/** The stored record of `hash`, or undefined (wrangler prints "Value not found" and exits 0). */
async function storedRecord(options: DevKeyOptions, hash: string): Promise<ApiKeyRecord | undefined> {
  const output = await wranglerKv(options, ['get', hash, '--text']);
  const start = output.indexOf('{');
  if (start < 0) return undefined;
  try {
    const parsed = ApiKeyRecord.safeParse(JSON.parse(output.slice(start)));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

function chooseKey(options: DevKeyOptions): { key: string; source: DevKeySource } {
  if (options.key !== undefined) {
    if (!KEY_SHAPE.test(options.key)) {
      throw new Error(
        'LATENT_EDGE_DEV_KEY: use 16 to 128 letters, digits, - or _ (e.g. le_ + random base64url)',
      );
    }
    return { key: options.key, source: 'environment' };
  }
  if (existsSync(options.keyFile)) {
    const saved = readFileSync(options.keyFile, 'utf8').trim();
    if (KEY_SHAPE.test(saved)) return { key: saved, source: 'saved' };
  }
  const key = generateApiKey();
  mkdirSync(dirname(options.keyFile), { recursive: true });
  writeFileSync(options.keyFile, `${key}\n`, { mode: 0o600 });
  return { key, source: 'generated' };
}

export async function ensureDevKey(options: DevKeyOptions): Promise<DevKey> {
  const { key, source } = chooseKey(options);
  const hash = await hashApiKey(key);
  // A key generated just now cannot be stored yet; any other may be, from an earlier run.
  const existing = source === 'generated' ? undefined : await storedRecord(options, hash);
  if (existing) {
    if (existing.revoked_at) {
      throw new Error(
        `the local API key ${existing.id} was revoked at ${existing.revoked_at}; ` +
          (source === 'saved'
            ? `delete ${options.keyFile} to get a new one`
            : 'set another LATENT_EDGE_DEV_KEY'),
      );
    }
    return { key, source, stored: false, record: existing };
  }
  const record = await newApiKeyRecord(key, options.name ?? 'local development (npm start)');
  const json = JSON.stringify(record);
  await wranglerKv(options, ['put', record.hash, json, '--metadata', json]);
  return { key, source, stored: true, record };
}
