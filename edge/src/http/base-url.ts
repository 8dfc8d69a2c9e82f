// The origin that image, share and job URLs are built on: PUBLIC_URL when set (a custom domain in
// front of the Worker), otherwise the origin the request arrived at.
import type { Context } from 'hono';
import type { AppEnv } from '../env.ts';

export function baseUrl(c: Context<AppEnv>): string {
  return c.var.config.PUBLIC_URL.replace(/\/+$/, '') || new URL(c.req.url).origin;
}
