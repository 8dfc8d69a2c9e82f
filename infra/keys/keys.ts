// `npm run keys -- <command>`: API keys for the edge, in its API_KEYS KV namespace, through
// wrangler, so the same commands work on the local state `wrangler dev` uses (default) and on the
// deployed namespace (--remote). Only the key's SHA-256 is stored; a new key is printed once.
//
//   npm run keys -- create --name "my app" [--rate-limit 120/60]   (requests / window seconds)
//   npm run keys -- list
//   npm run keys -- revoke <id>
//   add --remote for the deployed namespace, --persist-to <dir> for another local state folder.
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { ApiKeyRecord, generateApiKey, newApiKeyRecord } from '../../edge/src/auth/api-key.ts';

const ROOT = resolve(import.meta.dirname, '../..');
const WRANGLER = createRequire(import.meta.url).resolve('wrangler/bin/wrangler.js');

export interface KeyStore {
  remote?: boolean;
  persistTo?: string;
  configPath?: string;
}

function wrangler(store: KeyStore, args: string[]): string {
  const target = store.remote
    ? ['--remote']
    : ['--local', ...(store.persistTo ? ['--persist-to', store.persistTo] : [])];
  const result = spawnSync(
    process.execPath,
    [
      WRANGLER,
      'kv',
      'key',
      ...args,
      '--binding',
      'API_KEYS',
      ...target,
      '--config',
      store.configPath ?? resolve(ROOT, 'wrangler.toml'),
    ],
    { cwd: ROOT, encoding: 'utf8', env: { ...process.env, WRANGLER_SEND_METRICS: 'false' } },
  );
  if (result.status !== 0) {
    throw new Error(`wrangler kv key ${args[0]} failed:\n${result.stderr || result.stdout}`);
  }
  return result.stdout;
}

function putRecord(store: KeyStore, record: ApiKeyRecord): void {
  const json = JSON.stringify(record);
  wrangler(store, ['put', record.hash, json, '--metadata', json]);
}

export function listKeys(store: KeyStore): ApiKeyRecord[] {
  const output = wrangler(store, ['list']);
  // wrangler prints the JSON array after any banner lines.
  const entries = JSON.parse(output.slice(output.indexOf('['))) as { name: string; metadata?: unknown }[];
  return entries.flatMap((entry) => {
    const parsed = ApiKeyRecord.safeParse(entry.metadata);
    return parsed.success ? [parsed.data] : [];
  });
}

export async function createKey(
  store: KeyStore,
  name: string,
  rateLimit?: ApiKeyRecord['rate_limit'],
): Promise<{ key: string; record: ApiKeyRecord }> {
  const key = generateApiKey();
  const record = await newApiKeyRecord(key, name, rateLimit);
  putRecord(store, record);
  return { key, record };
}

export function revokeKey(store: KeyStore, id: string): ApiKeyRecord {
  const record = listKeys(store).find((r) => r.id === id);
  if (!record) throw new Error(`no key with id ${id}`);
  if (record.revoked_at) return record;
  const revoked = { ...record, revoked_at: new Date().toISOString() };
  putRecord(store, revoked);
  return revoked;
}

function parseRateLimit(value: string | undefined): ApiKeyRecord['rate_limit'] {
  if (value === undefined) return undefined;
  const match = /^(\d+)\/(\d+)$/.exec(value);
  if (!match) throw new Error(`--rate-limit ${value}: write requests/window-seconds, e.g. 120/60`);
  return ApiKeyRecord.shape.rate_limit.parse({
    requests: Number(match[1]),
    window_seconds: Number(match[2]),
  });
}

async function main(argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      name: { type: 'string' },
      'rate-limit': { type: 'string' },
      remote: { type: 'boolean', default: false },
      'persist-to': { type: 'string' },
    },
  });
  const store: KeyStore = { remote: values.remote, persistTo: values['persist-to'] };
  const [command, id] = positionals;
  if (command === 'create') {
    if (!values.name) throw new Error('create needs --name');
    const { key, record } = await createKey(store, values.name, parseRateLimit(values['rate-limit']));
    console.log(
      `created key ${record.id} (${record.name}). It is shown only now; store it safely:\n\n  ${key}\n`,
    );
  } else if (command === 'list') {
    for (const r of listKeys(store)) {
      const limit = r.rate_limit
        ? `${r.rate_limit.requests}/${r.rate_limit.window_seconds}s`
        : 'default limit';
      console.log(
        `${r.id}  ${r.revoked_at ? `revoked ${r.revoked_at}` : 'active'}  ${limit}  ${r.created_at}  ${r.name}`,
      );
    }
  } else if (command === 'revoke') {
    if (!id) throw new Error('revoke needs the key id (see list)');
    const record = revokeKey(store, id);
    console.log(
      `revoked ${record.id} at ${record.revoked_at}; deployed edges stop accepting it within about two minutes (KV's propagation plus API_KEY_CACHE_SECONDS)`,
    );
  } else {
    throw new Error(
      'usage: keys create --name NAME [--rate-limit N/S] | list | revoke ID  [--remote] [--persist-to DIR]',
    );
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  main(process.argv.slice(2)).catch((error: Error) => {
    console.error(error.message);
    process.exit(1);
  });
}
