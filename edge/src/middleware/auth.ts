// `Authorization: Bearer <key>`: the key's SHA-256 is looked up in KV (API_KEYS) and compared with
// the stored hash in constant time. `Basic` with the key as the password is accepted too, for
// AUTOMATIC1111 clients, which only know its --api-auth basic authentication. Missing, malformed,
// unknown and revoked keys all answer 401, each with its own code. Records found are remembered
// for API_KEY_CACHE_SECONDS (auth/api-key-cache.ts): with KV's own propagation (SD-NOTES §6.4), a
// revocation reaches every request within about two minutes by default.
import type { Context } from 'hono';
import { createMiddleware } from 'hono/factory';
import { MAX_API_KEY_LENGTH } from '../auth/api-key.ts';
import { findApiKey } from '../auth/api-key-cache.ts';
import type { AppEnv } from '../env.ts';
import { ApiError } from '../http/api-error.ts';

const CHALLENGE = { 'WWW-Authenticate': 'Bearer realm="latent-edge"' };

function unauthorized(code: string, message: string): ApiError {
  return new ApiError(401, code, message, { headers: CHALLENGE });
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

/**
 * Browsers cannot set headers on a websocket, so a websocket upgrade may carry the key as
 * `?token=<key>` instead (ComfyUI's /ws); nothing else may, keeping keys out of logged URLs.
 */
function websocketToken(c: Context<AppEnv>): string | undefined {
  if (c.req.header('Upgrade')?.toLowerCase() !== 'websocket') return undefined;
  const token = c.req.query('token');
  return token ? `Bearer ${token}` : undefined;
}

export const requireApiKey = createMiddleware<AppEnv>(async (c, next) => {
  const header = c.req.header('Authorization') ?? websocketToken(c);
  if (!header) throw unauthorized('missing_api_key', 'send your API key as "Authorization: Bearer <key>"');
  const key = presentedKey(header);
  if (!key) throw unauthorized('invalid_authorization', 'the Authorization header must be "Bearer <key>"');
  const record = await findApiKey(c.env.API_KEYS, key, c.var.config.API_KEY_CACHE_SECONDS * 1000);
  if (!record) throw unauthorized('invalid_api_key', 'this API key is not valid');
  if (record.revoked_at) {
    throw unauthorized('revoked_api_key', `this API key was revoked at ${record.revoked_at}`);
  }
  c.set('apiKey', record);
  await next();
});
