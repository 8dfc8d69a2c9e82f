// `npm run keys -- <command>`: API keys for the edge, in its API_KEYS KV namespace, through
// wrangler, so the same commands work on the local state `wrangler dev` uses (default) and on the
// deployed namespace (--remote). Only the key's SHA-256 is stored; a new key is printed once.
//
//   npm run keys -- create --name "my app" [--rate-limit 120/60]   (requests / window seconds)
//                          [--quota-images-per-day N] [--quota-worker-seconds-per-month S]
//   npm run keys -- list
//   npm run keys -- revoke <id>
//   npm run keys -- quota <id> [--images-per-day N|none] [--worker-seconds-per-month S|none]
//   add --remote for the deployed namespace, --persist-to <dir> for another local state folder.
//   npm run keys -- usage <id> [--edge URL]   (asks the edge; OPERATOR_TOKEN in the environment,
//                                               EDGE_URL or --edge, default http://127.0.0.1:8787)
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { ApiKeyRecord, generateApiKey, type KeyQuota, newApiKeyRecord } from '../../edge/src/auth/api-key.ts';
import { fetchKeyUsage, formatKeyUsage } from './usage-client.ts';

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
  quota?: KeyQuota,
): Promise<{ key: string; record: ApiKeyRecord }> {
  const key = generateApiKey();
  const record = await newApiKeyRecord(key, name, rateLimit, undefined, quota);
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

/**
 * Sets (a number) or removes (null) each quota `change` names, keeping the others; a key left
 * with no quota has none. Edges see it within KV's propagation plus API_KEY_CACHE_SECONDS.
 */
export function setQuota(
  store: KeyStore,
  id: string,
  change: { [K in keyof KeyQuota]?: number | null },
): ApiKeyRecord {
  const record = listKeys(store).find((r) => r.id === id);
  if (!record) throw new Error(`no key with id ${id}`);
  const quota: Record<string, number | undefined> = { ...record.quota };
  for (const [name, value] of Object.entries(change)) {
    if (value === null) delete quota[name];
    else if (value !== undefined) quota[name] = value;
  }
  const { quota: _old, ...rest } = record;
  const updated = ApiKeyRecord.parse(Object.keys(quota).length > 0 ? { ...rest, quota } : rest);
  putRecord(store, updated);
  return updated;
}

/** A quota flag: a whole number, or "none" (null) to remove it; absent stays undefined. */
function parseQuotaValue(flag: string, value: string | undefined): number | null | undefined {
  if (value === undefined) return undefined;
  if (value === 'none') return null;
  if (!/^\d+$/.test(value)) throw new Error(`--${flag} ${value}: a whole number, or "none"`);
  return Number(value);
}

function quotaOf(
  images: number | null | undefined,
  seconds: number | null | undefined,
): KeyQuota | undefined {
  const quota: KeyQuota = {
    ...(typeof images === 'number' && { images_per_day: images }),
    ...(typeof seconds === 'number' && { worker_seconds_per_month: seconds }),
  };
  return Object.keys(quota).length > 0 ? ApiKeyRecord.shape.quota.parse(quota) : undefined;
}

const describeQuota = (quota: KeyQuota | undefined) =>
  `images/day ${quota?.images_per_day ?? 'unlimited'}, worker s/month ${quota?.worker_seconds_per_month ?? 'unlimited'}`;

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
      'quota-images-per-day': { type: 'string' },
      'quota-worker-seconds-per-month': { type: 'string' },
      'images-per-day': { type: 'string' },
      'worker-seconds-per-month': { type: 'string' },
      edge: { type: 'string' },
      remote: { type: 'boolean', default: false },
      'persist-to': { type: 'string' },
    },
  });
  const store: KeyStore = { remote: values.remote, persistTo: values['persist-to'] };
  const [command, id] = positionals;
  if (command === 'create') {
    if (!values.name) throw new Error('create needs --name');
    const quota = quotaOf(
      parseQuotaValue('quota-images-per-day', values['quota-images-per-day']),
      parseQuotaValue('quota-worker-seconds-per-month', values['quota-worker-seconds-per-month']),
    );
    const { key, record } = await createKey(store, values.name, parseRateLimit(values['rate-limit']), quota);
    console.log(
      `created key ${record.id} (${record.name}; quota ${describeQuota(record.quota)}). It is shown only now; store it safely:\n\n  ${key}\n`,
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
  } else if (command === 'quota') {
    if (!id) throw new Error('quota needs the key id (see list)');
    const record = setQuota(store, id, {
      images_per_day: parseQuotaValue('images-per-day', values['images-per-day']),
      worker_seconds_per_month: parseQuotaValue(
        'worker-seconds-per-month',
        values['worker-seconds-per-month'],
      ),
    });
    console.log(`quota of ${record.id}: ${describeQuota(record.quota)}`);
  } else if (command === 'usage') {
    if (!id) throw new Error('usage needs the key id (see list), or discord:<user id>');
    const operatorToken = process.env.OPERATOR_TOKEN;
    if (!operatorToken) throw new Error('usage asks the edge: set OPERATOR_TOKEN to its operator token');
    const url = values.edge ?? process.env.EDGE_URL ?? 'http://127.0.0.1:8787';
    console.log(formatKeyUsage(await fetchKeyUsage({ url, operatorToken }, id)));
  } else {
    throw new Error(
      'usage: keys create --name NAME [--rate-limit N/S] [--quota-images-per-day N] [--quota-worker-seconds-per-month S] | list | revoke ID | quota ID [--images-per-day N|none] [--worker-seconds-per-month S|none] | usage ID [--edge URL]  [--remote] [--persist-to DIR]',
    );
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  main(process.argv.slice(2)).catch((error: Error) => {
    console.error(error.message);
    process.exit(1);
  });
}
