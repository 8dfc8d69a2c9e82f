// GET /v1/webhook-secret: the caller's webhook signing secret (`whsec_…`, Standard Webhooks), to
// verify the `webhook-signature` of deliveries for jobs this key created.
import { Hono } from 'hono';
import type { AppEnv } from '../env.ts';
import { ApiError } from '../http/api-error.ts';
import { webhookSecret } from '../webhooks/webhook-signature.ts';

export const webhookSecretRoute = new Hono<AppEnv>();

webhookSecretRoute.get('/', async (c) => {
  const master = c.var.config.WEBHOOK_SECRET;
  if (!master) throw new ApiError(404, 'not_found', 'webhooks are not enabled on this server');
  c.header('Cache-Control', 'no-store');
  return c.json({ secret: await webhookSecret(master, c.var.apiKey.id), scheme: 'standard-webhooks v1' });
});
