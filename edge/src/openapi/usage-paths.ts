// Usage and quotas: a key's own (GET /v1/usage) and the operator's view of any key's.
import type { PathItem } from './openapi-types.ts';
import { jsonResponse, PUBLIC, responseRef, withApiKey } from './operation-parts.ts';

const noStore = { 'Cache-Control': { required: true, schema: { type: 'string', const: 'no-store' } } };

export function usagePaths(): Record<string, PathItem> {
  return {
    '/v1/usage': {
      get: withApiKey({
        operationId: 'getUsage',
        tags: ['Images'],
        summary: 'Get this key’s usage and quota',
        description:
          'Finished jobs, images made, images from the cache (apart), steps × pixels and gpu-worker seconds today and this month (UTC) and in total; the key’s quota and what remains. A generation over a quota is refused with 429 `quota_exceeded` and Retry-After at the period’s end.',
        responses: { '200': jsonResponse('The usage.', 'UsageView', noStore) },
      }),
    },
    '/v1/operator/keys/{id}/usage': {
      get: {
        operationId: 'getKeyUsage',
        tags: ['Operators and gpu-workers'],
        summary: 'Get any key’s usage and quota (operators)',
        description:
          'What GET /v1/usage answers that key (`npm run keys -- usage <id>` prints it). Bearer OPERATOR_TOKEN (not an API key); 404 when it is not set or there is no such key.',
        security: PUBLIC,
        parameters: [
          {
            name: 'id',
            in: 'path',
            required: true,
            description: 'A key id (12 hex digits, from `npm run keys -- list`) or `discord:<user id>`.',
            schema: { type: 'string' },
          },
        ],
        responses: {
          '200': jsonResponse('The usage.', 'UsageView', noStore),
          '400': responseRef('InvalidRequest'),
          '401': jsonResponse('The operator token is missing or wrong.', 'ErrorBody'),
          '404': responseRef('NotFound'),
        },
      },
    },
  };
}
