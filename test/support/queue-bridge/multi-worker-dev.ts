// `wrangler dev` with several configs (`-c first -c second …`), as one Miniflare: the first config's
// Worker answers on the port, the others run beside it and share its local queues. Started in its
// own process group on free loopback ports (the inspector's too, so parallel runs do not collide),
// with the local stack's quiet wrangler environment, and stopped as a group.
import { type ManagedChild, startChild } from '../../../infra/dev/child-process.ts';
import { waitFor } from '../../../infra/dev/readiness.ts';
import { WRANGLER_BIN, wranglerEnv } from '../../../infra/dev/wrangler-cli.ts';
import { freePorts } from '../free-ports.ts';

export interface MultiWorkerDevOptions {
  configs: string[];
  cwd: string;
  persistTo: string;
  onLine: (line: string) => void;
  wranglerLogPath?: string;
}

export interface MultiWorkerDev {
  /** The first config's Worker. */
  url: string;
  child: ManagedChild;
  /** Resolves once GET `path` on the first Worker answers 2xx. */
  ready: (path: string, timeoutMs: number) => Promise<void>;
  stop: () => Promise<void>;
}

export async function startMultiWorkerDev(options: MultiWorkerDevOptions): Promise<MultiWorkerDev> {
  const [port, inspectorPort] = await freePorts(2);
  const url = `http://127.0.0.1:${port}`;
  const child = startChild({
    command: process.execPath,
    args: [
      WRANGLER_BIN,
      'dev',
      ...options.configs.flatMap((config) => ['--config', config]),
      '--ip',
      '127.0.0.1',
      '--port',
      String(port),
      '--inspector-port',
      String(inspectorPort),
      '--persist-to',
      options.persistTo,
      '--show-interactive-dev-session=false',
    ],
    cwd: options.cwd,
    env: wranglerEnv(options.wranglerLogPath),
    onLine: options.onLine,
  });
  return {
    url,
    child,
    async ready(path, timeoutMs) {
      await waitFor('wrangler dev', child, timeoutMs, async () => {
        const response = await fetch(`${url}${path}`, { signal: AbortSignal.timeout(30_000) });
        await response.arrayBuffer();
        return response.ok ? true : undefined;
      });
    },
    stop: () => child.stop(),
  };
}
