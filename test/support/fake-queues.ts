// A fake of the Cloudflare Queues REST API for HTTP pull consumers, on a loopback port: push,
// push a batch, pull and ack under `<origin>/client/v4/accounts/:account/queues/:queue/messages`,
// in Cloudflare's v4 envelope (`{success, errors, messages, result}`), with the semantics of
// fake-queues-store.ts. Clients get `apiBase` (`<origin>/client/v4`) where they would have
// https://api.cloudflare.com/client/v4. Queues come from configuration; a path may name a queue by
// its name or by the id `queueId(name)` gives, as the real API takes ids.
// It checks every request as Cloudflare would refuse it: `Authorization: Bearer <token>` (401
// otherwise), the account id (403), the queue (404), `Content-Type: application/json` and a body
// that fits fake-queues-schemas.ts (400). Each refusal is also kept in `violations`, so a client
// that swallows a 400 still fails its test at `assertNoViolations()`. Every request is logged in
// `requests`. Error codes: 10001/10000 (authentication), 7003 (no such route), 6007 (malformed
// JSON) and 10002 (unknown error) are ones Cloudflare answers with; 11000 (no such queue) and
// 10026 (invalid body) are this fake's stand-ins, clients should go by the status.
// Time is `now` (default Date.now; manual-clock.ts for tests of timeouts). `failNext` and
// `delayNext` (fake-queues-faults.ts) script 5xx answers and slow ones, to test client retries.
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type Failure, FaultPlan, type QueuesRoute } from './fake-queues-faults.ts';
import {
  AckRequest,
  DEFAULT_BATCH_SIZE,
  DEFAULT_VISIBILITY_TIMEOUT_MS,
  describeIssues,
  PullRequest,
  PushBatchRequest,
  PushRequest,
} from './fake-queues-schemas.ts';
import {
  FakeQueueStore,
  type MessageState,
  type QueueConfig,
  type QueueStats,
  type StoredMessage,
} from './fake-queues-store.ts';

export type { MessageState, QueueConfig, QueueStats, QueuesRoute, StoredMessage };

export const FAKE_QUEUES_ACCOUNT_ID = '0123456789abcdef0123456789abcdef';
export const FAKE_QUEUES_TOKEN = 'fake-queues-token-0123456789abcdefghijklmn';

export interface FakeQueuesOptions {
  queues: QueueConfig[];
  accountId?: string;
  token?: string;
  now?: () => number;
}

export interface RecordedRequest {
  /** On the fake's clock. */
  atMs: number;
  method: string;
  path: string;
  route?: QueuesRoute;
  queue?: string;
  /** The parsed JSON body, or the raw text when it was not JSON. */
  body: unknown;
  status: number;
  injected?: 'failure' | 'delay' | 'failure+delay';
}

export interface Violation {
  method: string;
  path: string;
  status: number;
  problems: string[];
}

interface Answer {
  status: number;
  json: unknown;
}

const ROUTE = /^\/client\/v4\/accounts\/([^/]+)\/queues\/([^/]+)\/messages(?:\/(batch|pull|ack))?$/;
const ROUTE_NAMES = { '': 'push', batch: 'push-batch', pull: 'pull', ack: 'ack' } as const;

const ok = (result: unknown): Answer => ({
  status: 200,
  json: { success: true, errors: [], messages: [], result },
});
const refusal = (status: number, code: number, message: string): Answer => ({
  status,
  json: { success: false, errors: [{ code, message }], messages: [], result: null },
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export class FakeQueues {
  readonly accountId: string;
  readonly token: string;
  readonly requests: RecordedRequest[] = [];
  readonly violations: Violation[] = [];
  readonly #store: FakeQueueStore;
  readonly #now: () => number;
  readonly #ids = new Map<string, string>();
  readonly #faults = new FaultPlan();
  readonly #arrivals = new Map<string, number>();
  readonly #waiters = new Set<() => void>();
  #server?: Server;

  constructor(options: FakeQueuesOptions) {
    this.accountId = options.accountId ?? FAKE_QUEUES_ACCOUNT_ID;
    this.token = options.token ?? FAKE_QUEUES_TOKEN;
    this.#now = options.now ?? Date.now;
    this.#store = new FakeQueueStore(options.queues, this.#now);
    for (const name of this.#store.names()) this.#ids.set(randomBytes(16).toString('hex'), name);
  }

  /** Listens on 127.0.0.1 (an ephemeral port); resolves to the API base, `<origin>/client/v4`. */
  async start(): Promise<string> {
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', async () => {
        const answer = await this.#handle(
          req.method ?? 'GET',
          req.url ?? '/',
          req.headers,
          Buffer.concat(chunks).toString('utf8'),
        );
        res.writeHead(answer.status, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify(answer.json));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    this.#server = server;
    return this.apiBase;
  }

  get apiBase(): string {
    if (!this.#server) throw new Error('the fake queues server is not started');
    return `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}/client/v4`;
  }

  async close(): Promise<void> {
    const server = this.#server;
    if (!server) return;
    this.#server = undefined;
    server.closeAllConnections();
    await new Promise<void>((resolve, reject) =>
      server.close((error) => (error ? reject(error) : resolve())),
    );
  }

  /** The id the API also accepts for queue `name` (32 hex digits, like Cloudflare's). */
  queueId(name: string): string {
    for (const [id, queue] of this.#ids) if (queue === name) return id;
    throw new Error(`no queue named ${name}`);
  }

  stats(queue: string): QueueStats {
    return this.#store.stats(queue);
  }

  messages(queue: string): (StoredMessage & { state: MessageState })[] {
    return this.#store.messages(queue);
  }

  /** The next `count` requests to `route` answer `status` (default 503); see fake-queues-faults.ts. */
  failNext(route: QueuesRoute, count = 1, failure: Partial<Failure> = {}): void {
    this.#faults.fail(route, count, { status: 503, afterProcessing: false, ...failure });
  }

  /** The next `count` requests to `route` wait `delayMs` of real time before they are handled. */
  delayNext(route: QueuesRoute, count: number, delayMs: number): void {
    this.#faults.delay(route, count, delayMs);
  }

  assertNoViolations(): void {
    if (this.violations.length === 0) return;
    const lines = this.violations.map((v) => `${v.method} ${v.path} → ${v.status}: ${v.problems.join('; ')}`);
    throw new Error(
      `the fake Cloudflare Queues API refused ${lines.length} request(s):\n${lines.join('\n')}`,
    );
  }

  /** Resolves once `count` messages in all have arrived in `queue`; rejects after `timeoutMs`. */
  waitForMessages(queue: string, count: number, timeoutMs: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const check = () => {
        if ((this.#arrivals.get(queue) ?? 0) < count) return;
        this.#waiters.delete(check);
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => {
        this.#waiters.delete(check);
        const arrived = this.#arrivals.get(queue) ?? 0;
        reject(new Error(`${queue}: ${arrived} of ${count} messages arrived within ${timeoutMs} ms`));
      }, timeoutMs);
      this.#waiters.add(check);
      check();
    });
  }

  /** One request, as the HTTP server hands it over: recorded, checked, answered. */
  async #handle(method: string, url: string, headers: IncomingHttpHeaders, text: string): Promise<Answer> {
    const path = new URL(url, 'http://fake').pathname;
    const record: RecordedRequest = { atMs: this.#now(), method, path, body: text, status: 0 };
    this.requests.push(record);
    const refuse = (answer: Answer, problems: string[]) => {
      this.violations.push({ method, path, status: answer.status, problems });
      return answer;
    };
    const answer = await this.#route(method, path, headers, text, record, refuse);
    record.status = answer.status;
    return answer;
  }

  async #route(
    method: string,
    path: string,
    headers: IncomingHttpHeaders,
    text: string,
    record: RecordedRequest,
    refuse: (answer: Answer, problems: string[]) => Answer,
  ): Promise<Answer> {
    const match = ROUTE.exec(path);
    if (!match || method !== 'POST') {
      const message = `Could not route to ${path}, perhaps your object identifier is invalid?`;
      return refuse(refusal(match ? 405 : 404, 7003, message), [`no route for ${method} ${path}`]);
    }
    const [, account, queueRef, suffix] = match;
    const route = ROUTE_NAMES[(suffix ?? '') as keyof typeof ROUTE_NAMES];
    record.route = route;

    const authorization = headers.authorization;
    if (authorization !== `Bearer ${this.token}`) {
      const problem = authorization
        ? 'the Bearer token is not the configured one'
        : 'no Authorization header';
      return refuse(refusal(401, 10001, 'Unable to authenticate request'), [problem]);
    }
    if (decodeURIComponent(account) !== this.accountId) {
      return refuse(refusal(403, 10000, 'Authentication error'), [`unknown account ${account}`]);
    }
    const queueName = decodeURIComponent(queueRef);
    const queue = this.#ids.get(queueName) ?? (this.#store.has(queueName) ? queueName : undefined);
    if (queue === undefined) {
      return refuse(refusal(404, 11000, `Queue ${queueName} not found`), [`unknown queue ${queueName}`]);
    }
    record.queue = queue;
    const contentType = headers['content-type']?.split(';')[0].trim().toLowerCase();
    if (contentType !== 'application/json') {
      const problem = `Content-Type must be application/json, not ${headers['content-type'] ?? 'missing'}`;
      return refuse(refusal(400, 6003, 'Invalid request headers'), [problem]);
    }
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      return refuse(refusal(400, 6007, 'Malformed JSON in request body'), ['the body is not JSON']);
    }
    record.body = body;

    const schema = { push: PushRequest, 'push-batch': PushBatchRequest, pull: PullRequest, ack: AckRequest }[
      route
    ];
    const parsed = schema.safeParse(body);
    if (!parsed.success) {
      const problems = describeIssues(parsed.error);
      return refuse(refusal(400, 10026, problems.join('; ')), problems);
    }

    const { failure, delayMs } = this.#faults.take(route);
    if (failure || delayMs !== undefined) {
      record.injected = failure && delayMs !== undefined ? 'failure+delay' : failure ? 'failure' : 'delay';
    }
    if (delayMs !== undefined) await sleep(delayMs);
    if (failure && !failure.afterProcessing)
      return refusal(failure.status, 10002, 'An unknown error has occurred');
    const answer = this.#carryOut(route, queue, parsed.data);
    if (failure) return refusal(failure.status, 10002, 'An unknown error has occurred');
    return answer;
  }

  #carryOut(route: QueuesRoute, queue: string, body: unknown): Answer {
    switch (route) {
      case 'push': {
        const message = body as PushRequest;
        this.#arrived(queue, [
          { body: message.body, contentType: message.content_type, delaySeconds: message.delay_seconds },
        ]);
        return ok(this.#metrics(queue));
      }
      case 'push-batch': {
        const batch = body as PushBatchRequest;
        this.#arrived(
          queue,
          batch.messages.map((m) => ({
            body: m.body,
            contentType: m.content_type,
            delaySeconds: m.delay_seconds ?? batch.delay_seconds,
          })),
        );
        return ok(this.#metrics(queue));
      }
      case 'pull': {
        const pull = body as PullRequest;
        const messages = this.#store.pull(
          queue,
          pull.batch_size ?? DEFAULT_BATCH_SIZE,
          pull.visibility_timeout_ms ?? DEFAULT_VISIBILITY_TIMEOUT_MS,
        );
        return ok({ message_backlog_count: this.#store.backlog(queue), messages, ...this.#metrics(queue) });
      }
      case 'ack': {
        const ack = body as AckRequest;
        return ok(
          this.#store.ack(
            queue,
            (ack.acks ?? []).map((a) => a.lease_id),
            (ack.retries ?? []).map((r) => ({ leaseId: r.lease_id, delaySeconds: r.delay_seconds })),
          ),
        );
      }
    }
  }

  #arrived(queue: string, messages: Parameters<FakeQueueStore['push']>[1]): void {
    this.#store.push(queue, messages);
    this.#arrivals.set(queue, (this.#arrivals.get(queue) ?? 0) + messages.length);
    for (const waiter of [...this.#waiters]) waiter();
  }

  /** The SDK's best-effort `metadata.metrics`, exact here. */
  #metrics(queue: string) {
    const pending = this.#store.messages(queue).filter((m) => !m.settled);
    const bytes = (m: StoredMessage) =>
      Buffer.from(m.body, m.contentType === 'json' ? 'base64' : 'utf8').length;
    return {
      metadata: {
        metrics: {
          backlog_count: pending.length,
          backlog_bytes: pending.reduce((sum, m) => sum + bytes(m), 0),
          oldest_message_timestamp_ms:
            pending.length > 0 ? Math.min(...pending.map((m) => m.timestampMs)) : 0,
        },
      },
    };
  }
}
