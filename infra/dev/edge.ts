// The edge of the local stack: `wrangler dev` on the repository's wrangler.toml (its [build] step
// compiles the tokenizers first), listening on 127.0.0.1, with local R2, KV, Durable Objects and
// Queues persisted in `persistTo`. Secrets and overrides come from env files, later ones winning:
// the developer's `.dev.vars`, then a file the stack writes (GPU_WORKERS pointing at its
// gpu-worker, Discord settings from the environment, …). Overrides go through a file rather than
// `--var` because `.dev.vars` would win over `--var`, and tokens on a command line show in `ps`.
import { type ManagedChild, startChild } from './child-process.ts';
import { NotStartingError, waitFor } from './readiness.ts';
import { WRANGLER_BIN, wranglerEnv } from './wrangler-cli.ts';

export interface EdgeOptions {
  root: string;
  port: number;
  persistTo: string;
  /** dotenv files in order; a later file's value replaces an earlier one's. */
  envFiles: string[];
  onLine: (line: string) => void;
  /** WRANGLER_LOG_PATH (default: wrangler's, under ~/.config/.wrangler/logs). */
  wranglerLogPath?: string;
  /**
   * More wrangler configs run beside the edge in the same Miniflare (`--config` after the edge's):
   * tests use it for the queue bridge (test/support/queue-bridge/), whose consumers receive what
   * the edge's queue producers send. The edge stays the Worker on `port`; `envFiles` reach these
   * Workers too (wrangler applies them to every config).
   */
  extraConfigs?: string[];
  /** The edge's own config (default: the repository's wrangler.toml), e.g. a scale-out one. */
  config?: string;
}

export interface Edge {
  url: string;
  child: ManagedChild;
  /** Resolves once the Worker authenticates `apiKey` (GET /v1/models answers 200). */
  ready: (apiKey: string, timeoutMs: number) => Promise<void>;
}

export function startEdge(options: EdgeOptions): Edge {
  const url = `http://127.0.0.1:${options.port}`;
  const child = startChild({
    command: process.execPath,
    args: [
      WRANGLER_BIN,
      'dev',
      '--config',
      options.config ?? `${options.root}/wrangler.toml`,
      ...(options.extraConfigs ?? []).flatMap((config) => ['--config', config]),
      '--ip',
      '127.0.0.1',
      '--port',
      String(options.port),
      '--persist-to',
      options.persistTo,
      ...options.envFiles.flatMap((file) => ['--env-file', file]),
      '--show-interactive-dev-session=false',
    ],
    cwd: options.root,
    env: wranglerEnv(options.wranglerLogPath),
    onLine: options.onLine,
  });
  return {
    url,
    child,
    async ready(apiKey, timeoutMs) {
      await waitFor('wrangler dev (the edge)', child, timeoutMs, async () => {
        // wrangler holds requests that arrive while workerd starts, so one probe may wait a while.
        const response = await fetch(`${url}/v1/models`, {
          headers: { Authorization: `Bearer ${apiKey}` },
          signal: AbortSignal.timeout(30_000),
        });
        const body = await response.text();
        if (response.ok) return true;
        // Neither a refused key nor a bad configuration fixes itself by waiting.
        if (response.status === 401)
          throw new NotStartingError(`the edge refused the local API key: ${body}`);
        if (response.status === 500 && body.includes('misconfigured')) {
          throw new NotStartingError(`the edge is misconfigured: ${body}`);
        }
        return undefined;
      });
    },
  };
}
