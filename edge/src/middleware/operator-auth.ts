// Bearer tokens for the operator's routes (GET /metrics, /v1/operator/*): secrets set with
// `wrangler secret put`, not API keys. A route whose tokens are all unset is off (404); a wrong or
// missing token is a 401. Compared in constant time.
import { constantTimeEqual } from '@latent-edge/shared/crypto/hmac';
import type { Context } from 'hono';
import { ApiError } from '../http/api-error.ts';

/** Throws unless the request's `Authorization: Bearer` token is one of `tokens` (unset ones ignored). */
export function requireOperatorToken(
  c: Context,
  tokens: readonly (string | undefined)[],
  names: string,
  realm: string,
): void {
  const accepted = tokens.filter((token): token is string => !!token);
  if (accepted.length === 0) throw new ApiError(404, 'not_found', `this route is off (${names} is not set)`);
  const presented = /^Bearer (.+)$/.exec(c.req.header('Authorization') ?? '')?.[1] ?? '';
  // Every token is compared, so the time taken does not tell which one was close.
  const matches = accepted.map((token) => constantTimeEqual(presented, token));
  if (!matches.includes(true)) {
    throw new ApiError(401, 'unauthorized', `a valid ${realm} token is required`, {
      headers: { 'WWW-Authenticate': `Bearer realm="${realm}"` },
    });
  }
}
