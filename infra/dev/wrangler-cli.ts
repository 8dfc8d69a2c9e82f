// How the local stack runs wrangler: the repository's own copy, by path, with the environment
// that keeps a local run local. Without these, every start asks registry.npmjs.org for a newer
// wrangler (the banner's update check), sends usage metrics, and has Miniflare download
// `Request.cf` from workers.cloudflare.com (and wait for it to fail when offline).
import { createRequire } from 'node:module';

export const WRANGLER_BIN = createRequire(import.meta.url).resolve('wrangler/bin/wrangler.js');

/** The environment for a wrangler command; `logPath` moves its debug logs out of ~/.config/.wrangler. */
export function wranglerEnv(logPath?: string): NodeJS.ProcessEnv {
  return {
    ...process.env,
    ...(logPath ? { WRANGLER_LOG_PATH: logPath } : {}),
    WRANGLER_HIDE_BANNER: 'true',
    WRANGLER_SEND_METRICS: 'false',
    WRANGLER_SEND_ERROR_REPORTS: 'false',
    CLOUDFLARE_CF_FETCH_ENABLED: 'false',
  };
}
