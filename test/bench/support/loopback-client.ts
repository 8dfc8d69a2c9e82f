// An HTTP/1.1 client for load on 127.0.0.1: node:http over a fixed pool of keep-alive sockets, so
// a closed loop of N clients holds N connections, as a browser or SDK keeps its connection warm.
// Lighter per request than fetch, which matters when the client shares the cores with the server.
import { Agent, type IncomingHttpHeaders, request } from 'node:http';

export interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

export interface LoopbackClient {
  send: (
    method: string,
    path: string,
    options?: { headers?: Record<string, string>; body?: string; signal?: AbortSignal },
  ) => Promise<Reply>;
  close: () => void;
}

export function loopbackClient(origin: string, sockets: number): LoopbackClient {
  const url = new URL(origin);
  if (url.hostname !== '127.0.0.1') throw new Error(`the benchmark only loads 127.0.0.1, not ${origin}`);
  const agent = new Agent({ keepAlive: true, maxSockets: sockets });
  const send: LoopbackClient['send'] = (method, path, { headers, body, signal } = {}) =>
    new Promise((resolve, reject) => {
      const outgoing = request(
        { host: url.hostname, port: url.port, method, path, headers, agent, signal },
        (incoming) => {
          const chunks: Buffer[] = [];
          incoming
            .on('data', (chunk: Buffer) => chunks.push(chunk))
            .on('end', () =>
              resolve({
                status: incoming.statusCode ?? 0,
                headers: incoming.headers,
                body: Buffer.concat(chunks).toString('utf8'),
              }),
            )
            .on('error', reject);
        },
      );
      outgoing.on('error', reject);
      outgoing.end(body);
    });
  return { send, close: () => agent.destroy() };
}
