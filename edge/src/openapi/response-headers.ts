// The response headers the document names: the rate limit's (every answer past the limiter
// carries them, edge/src/middleware/rate-limit.ts), Retry-After, X-Cache and the 401 challenge.
import type { Header, Reference } from './openapi-types.ts';

const integer = { type: 'integer', minimum: 0 };

/** Headers the edge always sends where they are listed are `required`; the tests check them. */
export const RESPONSE_HEADERS: Record<string, Header> = {
  'RateLimit-Limit': {
    description: 'Requests this key may make per window.',
    required: true,
    schema: integer,
  },
  'RateLimit-Remaining': {
    description: 'Requests left in the current window.',
    required: true,
    schema: integer,
  },
  'RateLimit-Reset': {
    description: 'Seconds until the window frees a request.',
    required: true,
    schema: integer,
  },
  'RateLimit-Policy': {
    description:
      'The limit and the window in seconds, as `<limit>;w=<seconds>` (IETF RateLimit fields draft).',
    required: true,
    schema: { type: 'string', examples: ['60;w=60'] },
  },
  'Retry-After': { description: 'Seconds to wait before trying again.', required: true, schema: integer },
  'X-Cache': {
    description:
      'HIT: every image came from the result cache, without a gpu-worker; MISS: none did; PARTIAL: some did.',
    required: true,
    schema: { type: 'string', enum: ['HIT', 'MISS', 'PARTIAL'] },
  },
  'WWW-Authenticate': {
    required: true,
    schema: { type: 'string', examples: ['Bearer realm="latent-edge"'] },
  },
};

export function headerRef(name: string): Reference {
  return { $ref: `#/components/headers/${name}` };
}

/** Headers every answer past the rate limiter carries. */
export function rateLimitHeaders(): Record<string, Reference> {
  return Object.fromEntries(
    ['RateLimit-Limit', 'RateLimit-Remaining', 'RateLimit-Reset', 'RateLimit-Policy'].map((name) => [
      name,
      headerRef(name),
    ]),
  );
}
