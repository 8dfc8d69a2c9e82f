// The operator's routes, behind OPERATOR_TOKEN (not an API key):
//   GET /v1/operator/keys/:id/usage: any key's usage and quota, by its public id (what
//   `npm run keys -- usage <id>` prints); a Discord user's as `discord:<user id>`.
// API key records are stored by hash, and the id is the hash's first 12 hex digits, so the
// record is found by listing KV with the id as prefix.
import { Hono } from 'hono';
import { ApiKeyRecord } from '../auth/api-key.ts';
import type { AppEnv } from '../env.ts';
import { ApiError } from '../http/api-error.ts';
import { requireOperatorToken } from '../middleware/operator-auth.ts';
import { usageView } from '../usage/usage-view.ts';

const KEY_ID = /^[0-9a-f]{12}$/;
const DISCORD_OWNER = /^discord:\d{1,20}$/;

export const operator = new Hono<AppEnv>();

operator.use('*', async (c, next) => {
  requireOperatorToken(c, [c.var.config.OPERATOR_TOKEN], 'OPERATOR_TOKEN', 'operator');
  await next();
});

async function keyRecord(kv: KVNamespace, id: string): Promise<ApiKeyRecord | undefined> {
  const { keys } = await kv.list({ prefix: id, limit: 10 });
  for (const entry of keys) {
    const parsed = ApiKeyRecord.safeParse(entry.metadata);
    if (parsed.success && parsed.data.id === id) return parsed.data;
  }
  return undefined;
}

operator.get('/keys/:id/usage', async (c) => {
  const id = c.req.param('id');
  let quota: ApiKeyRecord['quota'];
  if (KEY_ID.test(id)) {
    const record = await keyRecord(c.env.API_KEYS, id);
    if (!record) throw new ApiError(404, 'not_found', `no API key with id ${id}`);
    quota = record.quota;
  } else if (!DISCORD_OWNER.test(id)) {
    throw new ApiError(
      400,
      'invalid_request',
      `id: ${JSON.stringify(id.slice(0, 40))} must be a key id (12 hex digits) or discord:<user id>`,
      { field: 'id' },
    );
  }
  const report = await c.env.KEY_USAGE.getByName(id).report();
  c.header('Cache-Control', 'no-store');
  return c.json(usageView(id, quota, report));
});
