// GET /: the playground, a page for trying the API in a browser. Public like the share pages (the
// API key is typed into the page, or handed to it in the URL fragment, and only the page's own
// calls carry it); served whole by the Worker, with a strict Content-Security-Policy.
import { Hono } from 'hono';
import type { AppEnv } from '../env.ts';
import { baseUrl } from '../http/base-url.ts';
import { contentSecurityPolicy, hashSource } from '../playground/content-security-policy.ts';
import { playgroundPage } from '../playground/playground-page.ts';
import { PLAYGROUND_SCRIPT } from '../playground/playground-script.ts';
import { PLAYGROUND_STYLE } from '../playground/playground-style.ts';

export const playground = new Hono<AppEnv>();

/** Hashes of the inline script and style; the same for every request, so computed once. */
let inlineSources: { script: string; style: string } | undefined;

playground.get('/', async (c) => {
  inlineSources ??= {
    script: await hashSource(PLAYGROUND_SCRIPT),
    style: await hashSource(PLAYGROUND_STYLE),
  };
  const base = baseUrl(c);
  const imageOrigin = base === new URL(c.req.url).origin ? undefined : new URL(base).origin;
  c.header('Content-Security-Policy', contentSecurityPolicy({ ...inlineSources, imageOrigin }));
  c.header('X-Content-Type-Options', 'nosniff');
  c.header('Referrer-Policy', 'no-referrer');
  // Revalidated on every visit: a deploy changes the page and, with it, its script's hash.
  c.header('Cache-Control', 'no-cache');
  return c.html(playgroundPage());
});
