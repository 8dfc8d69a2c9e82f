// API keys: `le_` + 32 random bytes (base64url), shown once at creation. Only the SHA-256 of a
// key is stored: the KV key is the hex hash and the value is the record below (also kept as the
// entry's metadata, so listing needs no reads). Shared by the Worker and infra/keys/keys.ts.
import { z } from 'zod';

export const API_KEY_PREFIX = 'le_';
/** Longest Authorization token worth hashing; anything longer is not one of ours. */
export const MAX_API_KEY_LENGTH = 128;

export const ApiKeyRecord = z.object({
  /** Public id (the first 12 hex digits of the hash): names the key in lists, logs and job owners. */
  id: z.string(),
  /** Full SHA-256 of the key, hex; compared in constant time against the presented key's hash. */
  hash: z.string().regex(/^[0-9a-f]{64}$/),
  name: z.string(),
  created_at: z.string(),
  revoked_at: z.string().optional(),
  /** This key's own rate limit, replacing RATE_LIMIT_REQUESTS / RATE_LIMIT_WINDOW_SECONDS. */
  rate_limit: z
    .object({ requests: z.int().min(1).max(10_000), window_seconds: z.int().min(1).max(86_400) })
    .optional(),
  /** This key's own cap on jobs in the GPU queues at once (scale-out), replacing MAX_IN_FLIGHT_PER_KEY. */
  max_in_flight: z.int().min(1).max(1000).optional(),
  /** This key's quotas (absent: unlimited), enforced by its KeyUsage object at admission. */
  quota: z
    .object({
      /** Generated images per UTC day (cached images do not count), reserved when a job is admitted. */
      images_per_day: z.int().min(0).max(100_000_000).optional(),
      /** gpu-worker seconds per UTC month; a job is refused once the month's total reaches it. */
      worker_seconds_per_month: z.int().min(0).max(1_000_000_000).optional(),
    })
    .optional(),
});
export type ApiKeyRecord = z.infer<typeof ApiKeyRecord>;
export type KeyQuota = NonNullable<ApiKeyRecord['quota']>;

const HEX_BYTES = Array.from({ length: 256 }, (_, b) => b.toString(16).padStart(2, '0'));

function toHex(bytes: ArrayBuffer): string {
  let hex = '';
  for (const b of new Uint8Array(bytes)) hex += HEX_BYTES[b];
  return hex;
}

export async function hashApiKey(key: string): Promise<string> {
  return toHex(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(key)));
}

export function generateApiKey(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  const base64 = btoa(String.fromCharCode(...bytes));
  return API_KEY_PREFIX + base64.replaceAll('+', '-').replaceAll('/', '_').replace(/=+$/, '');
}

export async function newApiKeyRecord(
  key: string,
  name: string,
  rateLimit?: ApiKeyRecord['rate_limit'],
  now = new Date(),
  quota?: KeyQuota,
): Promise<ApiKeyRecord> {
  const hash = await hashApiKey(key);
  return {
    id: hash.slice(0, 12),
    hash,
    name,
    created_at: now.toISOString(),
    ...(rateLimit ? { rate_limit: rateLimit } : {}),
    ...(quota ? { quota } : {}),
  };
}
