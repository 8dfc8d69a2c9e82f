// Ports of the local stack: read from the environment, and checked before anything starts, so a
// port already taken is one clear message instead of a child's stack trace.
import { createServer } from 'node:net';

/** `name` from `env` as a TCP port, or `fallback` when unset or empty. */
export function portFromEnv(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 1 || port > 65_535) {
    throw new Error(`${name}=${JSON.stringify(raw)}: must be a port number from 1 to 65535`);
  }
  return port;
}

/** Resolves when nothing listens on 127.0.0.1:`port`; rejects naming `what` otherwise. */
export function assertPortFree(port: number, what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', (error: NodeJS.ErrnoException) =>
      reject(
        new Error(
          error.code === 'EADDRINUSE'
            ? `port ${port} is already in use (${what}); stop what holds it or choose another port`
            : `port ${port} (${what}): ${error.message}`,
        ),
      ),
    );
    server.listen(port, '127.0.0.1', () => server.close(() => resolve()));
  });
}
