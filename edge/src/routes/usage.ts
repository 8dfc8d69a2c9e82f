// GET /v1/usage: the calling key's usage and quota (behind its API key, like every /v1 route).
import { Hono } from 'hono';
import type { AppEnv } from '../env.ts';
import { usageView } from '../usage/usage-view.ts';

export const usage = new Hono<AppEnv>();

usage.get('/', async (c) => {
  const key = c.var.apiKey;
  const report = await c.env.KEY_USAGE.getByName(key.id).report();
  c.header('Cache-Control', 'no-store');
  return c.json(usageView(key.id, key.quota, report));
});
