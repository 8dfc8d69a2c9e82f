// Hono's typing for this Worker: the bindings (Env, generated from wrangler.toml into
// edge/worker-configuration.d.ts) and what middleware hands to the routes.
import type { ApiKeyRecord } from './auth/api-key.ts';
import type { EdgeConfig } from './config/edge-config.ts';

export interface AppEnv {
  Bindings: Env;
  Variables: {
    /** The validated configuration (vars and secrets). */
    config: EdgeConfig;
    /** The caller's key, on authenticated routes. */
    apiKey: ApiKeyRecord;
  };
}
