// `Authorization: Bearer <key>`: the key's SHA-256 is looked up in KV (API_KEYS) and compared with
// the stored hash in constant time. `Basic` with the key as the password is accepted too, for
// AUTOMATIC1111 clients, which only know its --api-auth basic authentication. Missing, malformed, unknown and revoked keys all answer 401,
// each with its own code. KV is eventually consistent, so a revocation takes up to about a minute
// to reach every location (SD-NOTES §6.4).
import { createMiddleware } from 'hono/factory';
import { ApiKeyRecord, hashApiKey, MAX_API_KEY_LENGTH } from '../auth/api-key.ts';
import type { AppEnv } from '../env.ts';
import { ApiError } from '../http/api-error.ts';

const CHALLENGE = { 'WWW-Authenticate': 'Bearer realm="latent-edge"' };

function unauthorized(code: string, message: string): ApiError {
  return new ApiError(401, code, message, { headers: CHALLENGE });
}

function sameHash(a: string, b: string): boolean {
  const encoder = new TextEncoder();
  const left = encoder.encode(a);
  const right = encoder.encode(b);
  return left.byteLength === right.byteLength && crypto.subtle.timingSafeEqual(left, right);
}

const KEY = /^[A-Za-z0-9_-]+$/;

/** The key from `Bearer <key>` or `Basic base64(<any user>:<key>)`; undefined when malformed. */
function presentedKey(header: string): string | undefined {
  const [scheme, credentials, ...rest] = header.trim().split(/ +/);
  if (!credentials || rest.length > 0) return undefined;
  let key: string | undefined;
  if (scheme.toLowerCase() === 'bearer') key = credentials;
  else if (scheme.toLowerCase() === 'basic') {
    try {
      const decoded = atob(credentials);
      key = decoded.slice(decoded.indexOf(':') + 1);
    } catch {
      return undefined;
    }
  }
  return key && key.length <= MAX_API_KEY_LENGTH && KEY.test(key) ? key : undefined;
}

export const requireApiKey = createMiddleware<AppEnv>(async (c, next) => {
  const header = c.req.header('Authorization');
  if (!header) throw unauthorized('missing_api_key', 'send your API key as "Authorization: Bearer <key>"');
  const key = presentedKey(header);
  if (!key) throw unauthorized('invalid_authorization', 'the Authorization header must be "Bearer <key>"');
  const hash = await hashApiKey(key);
  const stored = await c.env.API_KEYS.get(hash, 'json');
  const record = ApiKeyRecord.safeParse(stored);
  if (!record.success || !sameHash(hash, record.data.hash)) {
    throw unauthorized('invalid_api_key', 'this API key is not valid');
  }
  if (record.data.revoked_at) {
    throw unauthorized('revoked_api_key', `this API key was revoked at ${record.data.revoked_at}`);
  }
  c.set('apiKey', record.data);
  await next();
});
