// API key records by the SHA-256 of the key: read from KV (API_KEYS) and remembered in isolate
// memory for API_KEY_CACHE_SECONDS, so that a busy key costs no KV read per request. KV itself
// takes up to about a minute to carry a change to every location (SD-NOTES §6.4); a revocation
// or a new rate limit therefore reaches every request within that plus this window.
//
// Only keys found are remembered, and only when the stored record is the one asked for: an
// unknown key is read again each time, so a key created a moment ago works at once (in the
// location that wrote it), and made-up keys cannot crowd out real ones.
//
// The hash of a key found is remembered too, by the key itself, for the same window: WebCrypto's
// SHA-256 is an asynchronous call that cost about 0.08 ms of a cache hit's 1.4 ms of workerd CPU
// (test/bench/edge.ts). The key never leaves isolate memory, and a lookup only finds a key
// presented in full.
import { TimedMemory } from '../memory/timed-memory.ts';
import { ApiKeyRecord, hashApiKey } from './api-key.ts';

/** Records held per isolate (a few hundred bytes each): a busy key is read again once its window ends. */
export const MAX_REMEMBERED = 1000;

const remembered = new TimedMemory<ApiKeyRecord>(MAX_REMEMBERED);
const rememberedHashes = new TimedMemory<string>(MAX_REMEMBERED);

function sameHash(a: string, b: string): boolean {
  const encoder = new TextEncoder();
  const left = encoder.encode(a);
  const right = encoder.encode(b);
  return left.byteLength === right.byteLength && crypto.subtle.timingSafeEqual(left, right);
}

/**
 * The record stored under `hash`, or undefined when there is none (or it is not valid, or not
 * this key's: the stored hash is compared in constant time). `maxAgeMs` 0 reads KV every time.
 */
export async function loadApiKeyRecord(
  kv: KVNamespace,
  hash: string,
  maxAgeMs: number,
  memory = remembered,
): Promise<ApiKeyRecord | undefined> {
  // Taken before the read: the record is at least as fresh as this.
  const readAt = Date.now();
  const known = memory.recall(hash, maxAgeMs, readAt);
  if (known) return known;
  const parsed = ApiKeyRecord.safeParse(await kv.get(hash, 'json'));
  if (!parsed.success || !sameHash(hash, parsed.data.hash)) return undefined;
  if (maxAgeMs > 0) memory.learn(hash, Object.freeze(parsed.data), readAt);
  return parsed.data;
}

/** The record of the presented `key` (see loadApiKeyRecord), hashing it only when not remembered. */
export async function findApiKey(
  kv: KVNamespace,
  key: string,
  maxAgeMs: number,
  memory = { records: remembered, hashes: rememberedHashes },
): Promise<ApiKeyRecord | undefined> {
  const known = memory.hashes.recall(key, maxAgeMs);
  const hash = known ?? (await hashApiKey(key));
  const record = await loadApiKeyRecord(kv, hash, maxAgeMs, memory.records);
  if (record && !known && maxAgeMs > 0) memory.hashes.learn(key, hash);
  return record;
}
