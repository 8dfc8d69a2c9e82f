// The fake Cloudflare Queues API (test/support/fake-queues.ts) over HTTP, as a pull consumer
// would use it: leases and their expiry, attempts, retry delays, dead-lettering, the base64 of
// json bodies, batch limits, backlog counts, and the refusal (and recording) of every kind of
// request Cloudflare would refuse. A manual clock stands in for time, so nothing waits.
import { afterEach, describe, expect, it } from 'vitest';
import { FAKE_QUEUES_ACCOUNT_ID, FAKE_QUEUES_TOKEN, FakeQueues } from './support/fake-queues.ts';
import type { QueueConfig } from './support/fake-queues-store.ts';
import { type ManualClock, manualClock } from './support/manual-clock.ts';

const JOBS = 'latent-edge-gpu-tiny-sd-interactive';

interface Pulled {
  id: string;
  body: string;
  attempts: number;
  lease_id: string;
  timestamp_ms: number;
  metadata: Record<string, string>;
}

let fake: FakeQueues | undefined;
let clock: ManualClock;
let apiBase: string;

afterEach(async () => {
  await fake?.close();
  fake = undefined;
});

async function startFake(queues: QueueConfig[] = [{ name: JOBS }]): Promise<FakeQueues> {
  clock = manualClock();
  fake = new FakeQueues({ queues, now: clock.now });
  apiBase = await fake.start();
  return fake;
}

async function post(
  path: string,
  body: unknown,
  { token = FAKE_QUEUES_TOKEN, contentType = 'application/json' } = {},
): Promise<{ status: number; json: Record<string, unknown> }> {
  const response = await fetch(`${apiBase}${path}`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': contentType },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: response.status, json: (await response.json()) as Record<string, unknown> };
}

const messagesPath = (queue = JOBS) => `/accounts/${FAKE_QUEUES_ACCOUNT_ID}/queues/${queue}/messages`;

async function push(body: unknown, contentType: 'json' | 'text' = 'json', queue = JOBS) {
  const { status } = await post(messagesPath(queue), { body, content_type: contentType });
  expect(status).toBe(200);
}

async function pull(options: Record<string, number> = {}, queue = JOBS) {
  const { status, json } = await post(`${messagesPath(queue)}/pull`, options);
  expect(status).toBe(200);
  expect(json).toMatchObject({ success: true, errors: [], messages: [] });
  return json.result as { message_backlog_count: number; messages: Pulled[] };
}

async function ack(
  acks: string[],
  retries: { lease_id: string; delay_seconds?: number }[] = [],
  queue = JOBS,
) {
  const { status, json } = await post(`${messagesPath(queue)}/ack`, {
    acks: acks.map((lease_id) => ({ lease_id })),
    retries,
  });
  expect(status).toBe(200);
  return json.result as { ackCount: number; retryCount: number; warnings: Record<string, string> };
}

const decodeJson = (body: string) => JSON.parse(Buffer.from(body, 'base64').toString('utf8'));

describe('fake Cloudflare Queues: delivery', () => {
  it('serves a json body as base64 of its UTF-8 JSON and a text body as itself', async () => {
    await startFake();
    const job = { job_id: 'j-1', model: 'tiny-sd', prompt: 'a café at dusk, 夜' };
    await push(job);
    await push('plain text, ünïcode', 'text');
    const { messages } = await pull();
    expect(messages).toHaveLength(2);
    expect(decodeJson(messages[0].body)).toEqual(job);
    expect(messages[0].metadata['CF-Content-Type']).toBe('json');
    expect(messages[1].body).toBe('plain text, ünïcode');
    expect(messages[1].metadata['CF-Content-Type']).toBe('text');
    expect(messages[0]).toMatchObject({ attempts: 1, timestamp_ms: clock.now() });
    expect(messages[0].id).toMatch(/^[0-9a-f]{32}$/);
    expect(messages[0].lease_id).not.toBe(messages[1].lease_id);
    fake?.assertNoViolations();
  });

  it('leases a pulled message: a second pull before the visibility timeout gets nothing', async () => {
    const queues = await startFake();
    await push({ n: 1 });
    const first = await pull({ visibility_timeout_ms: 60_000 });
    expect(first.messages).toHaveLength(1);
    clock.advance(59_999);
    const second = await pull();
    expect(second.messages).toEqual([]);
    expect(second.message_backlog_count).toBe(1);
    expect(queues.stats(JOBS)).toMatchObject({ backlog: 1, leased: 1, available: 0, delivered: 1 });
    queues.assertNoViolations();
  });

  it('delivers an unacked message again after its visibility timeout, with attempts 2 and a new lease', async () => {
    const queues = await startFake();
    await push({ n: 1 });
    const [first] = (await pull({ visibility_timeout_ms: 1_000 })).messages;
    clock.advance(1_000);
    const [again] = (await pull()).messages;
    expect(again).toMatchObject({ id: first.id, attempts: 2, body: first.body });
    expect(again.lease_id).not.toBe(first.lease_id);
    // The first lease lost the message when it was delivered again: a warning, not an error.
    const stale = await ack([first.lease_id]);
    expect(stale).toMatchObject({ ackCount: 0, retryCount: 0 });
    expect(Object.keys(stale.warnings)).toEqual([first.lease_id]);
    expect(await ack([again.lease_id])).toEqual({ ackCount: 1, retryCount: 0, warnings: {} });
    expect(queues.stats(JOBS)).toMatchObject({ backlog: 0, delivered: 2, acked: 1 });
    queues.assertNoViolations();
  });

  it('accepts a late ack: after the visibility timeout, before the message is delivered again', async () => {
    const queues = await startFake();
    await push({ n: 1 });
    const [message] = (await pull({ visibility_timeout_ms: 1_000 })).messages;
    clock.advance(5_000);
    expect(await ack([message.lease_id])).toEqual({ ackCount: 1, retryCount: 0, warnings: {} });
    expect((await pull()).messages).toEqual([]);
    expect(queues.stats(JOBS)).toMatchObject({ backlog: 0, acked: 1 });
    queues.assertNoViolations();
  });

  it('makes a retried message available again only after its delay', async () => {
    const queues = await startFake();
    await push({ n: 1 });
    const [message] = (await pull()).messages;
    expect(await ack([], [{ lease_id: message.lease_id, delay_seconds: 10 }])).toEqual({
      ackCount: 0,
      retryCount: 1,
      warnings: {},
    });
    expect(queues.stats(JOBS)).toMatchObject({ delayed: 1, leased: 0, retried: 1, backlog: 1 });
    clock.advance(9_999);
    expect((await pull()).messages).toEqual([]);
    clock.advance(1);
    const [again] = (await pull()).messages;
    expect(again).toMatchObject({ id: message.id, attempts: 2 });
    queues.assertNoViolations();
  });

  it('delays a pushed message, and a batch, by their delay_seconds', async () => {
    const queues = await startFake();
    await post(messagesPath(), { body: { n: 1 }, content_type: 'json', delay_seconds: 5 });
    await post(`${messagesPath()}/batch`, {
      delay_seconds: 2,
      messages: [
        { body: { n: 2 }, content_type: 'json' },
        { body: 'n3', content_type: 'text', delay_seconds: 0 },
      ],
    });
    expect((await pull()).messages.map((m) => m.body)).toEqual(['n3']);
    clock.advance(2_000);
    expect((await pull()).messages.map((m) => decodeJson(m.body))).toEqual([{ n: 2 }]);
    clock.advance(3_000);
    expect((await pull()).messages.map((m) => decodeJson(m.body))).toEqual([{ n: 1 }]);
    queues.assertNoViolations();
  });
});

describe('fake Cloudflare Queues: dead letters', () => {
  it('moves a message retried after its last delivery (1 + max_retries) to the dead-letter queue', async () => {
    const queues = await startFake([{ name: JOBS, maxRetries: 2, deadLetterQueue: `${JOBS}-dead` }]);
    await push({ job_id: 'doomed' });
    for (const attempt of [1, 2, 3]) {
      const [message] = (await pull()).messages;
      expect(message.attempts).toBe(attempt);
      await ack([], [{ lease_id: message.lease_id }]);
    }
    expect((await pull()).messages).toEqual([]);
    expect(queues.stats(JOBS)).toMatchObject({ backlog: 0, delivered: 3, retried: 3, deadLettered: 1 });
    // The dead-letter queue is a queue like any other: its message starts over at attempt 1.
    const dead = await pull({}, `${JOBS}-dead`);
    expect(dead.messages).toHaveLength(1);
    expect(decodeJson(dead.messages[0].body)).toEqual({ job_id: 'doomed' });
    expect(dead.messages[0].attempts).toBe(1);
    queues.assertNoViolations();
  });

  it('dead-letters a message whose last lease expired when it would be delivered once more', async () => {
    const queues = await startFake([{ name: JOBS, maxRetries: 1, deadLetterQueue: 'dlq' }]);
    await push({ n: 1 });
    const attempts = [];
    for (let i = 0; i < 2; i++) {
      attempts.push(...(await pull({ visibility_timeout_ms: 1_000 })).messages.map((m) => m.attempts));
      clock.advance(1_000);
    }
    expect(attempts).toEqual([1, 2]);
    expect((await pull()).messages).toEqual([]);
    expect(queues.stats(JOBS)).toMatchObject({ deadLettered: 1, backlog: 0 });
    expect(queues.stats('dlq')).toMatchObject({ backlog: 1, available: 1 });
    queues.assertNoViolations();
  });

  it('drops an exhausted message when its queue has no dead-letter queue', async () => {
    const queues = await startFake([{ name: JOBS, maxRetries: 0 }]);
    await push({ n: 1 });
    const [message] = (await pull()).messages;
    await ack([], [{ lease_id: message.lease_id }]);
    expect(queues.stats(JOBS)).toMatchObject({ backlog: 0, dropped: 1, deadLettered: 0 });
    expect(queues.messages(JOBS)[0]).toMatchObject({ state: 'dropped', attempts: 1 });
    queues.assertNoViolations();
  });

  it('uses max_retries 3 by default: four deliveries', async () => {
    await startFake([{ name: JOBS, deadLetterQueue: 'dlq' }]);
    await push({ n: 1 });
    const attempts = [];
    for (let i = 0; i < 5; i++) {
      const { messages } = await pull({ visibility_timeout_ms: 10 });
      attempts.push(...messages.map((m) => m.attempts));
      clock.advance(10);
    }
    expect(attempts).toEqual([1, 2, 3, 4]);
    expect((await pull({}, 'dlq')).messages).toHaveLength(1);
  });
});

describe('fake Cloudflare Queues: batches and backlog', () => {
  it('pulls 5 by default, batch_size when given, and counts the backlog of unacknowledged messages', async () => {
    const queues = await startFake();
    const { status } = await post(`${messagesPath()}/batch`, {
      messages: Array.from({ length: 8 }, (_, n) => ({ body: { n }, content_type: 'json' })),
    });
    expect(status).toBe(200);
    const first = await pull();
    expect(first.messages.map((m) => decodeJson(m.body).n)).toEqual([0, 1, 2, 3, 4]);
    expect(first.message_backlog_count).toBe(8);
    const second = await pull({ batch_size: 2 });
    expect(second.messages).toHaveLength(2);
    await ack([...first.messages, ...second.messages].map((m) => m.lease_id));
    const last = await pull({ batch_size: 100 });
    expect(last.messages).toHaveLength(1);
    expect(last.message_backlog_count).toBe(1);
    expect(queues.stats(JOBS)).toMatchObject({ backlog: 1, leased: 1, acked: 7, delivered: 8 });
    queues.assertNoViolations();
  });

  it('answers an empty pull at once (short polling)', async () => {
    const queues = await startFake();
    expect(await pull()).toMatchObject({ message_backlog_count: 0, messages: [] });
    queues.assertNoViolations();
  });

  it('takes a queue id as well as its name', async () => {
    const queues = await startFake();
    await push({ n: 1 }, 'json', queues.queueId(JOBS));
    expect((await pull()).messages).toHaveLength(1);
    queues.assertNoViolations();
  });

  it('warns about an unknown lease without refusing the ack', async () => {
    const queues = await startFake();
    const result = await ack(['no-such-lease'], [{ lease_id: 'nor-this-one' }]);
    expect(result.ackCount).toBe(0);
    expect(Object.keys(result.warnings).sort()).toEqual(['no-such-lease', 'nor-this-one']);
    queues.assertNoViolations();
  });
});

describe('fake Cloudflare Queues: refusals', () => {
  const cases: { what: string; status: number; send: () => ReturnType<typeof post> }[] = [
    { what: 'no token', status: 401, send: () => post(`${messagesPath()}/pull`, {}, { token: '' }) },
    { what: 'a wrong token', status: 401, send: () => post(`${messagesPath()}/pull`, {}, { token: 'nope' }) },
    {
      what: 'another account',
      status: 403,
      send: () => post(`/accounts/ffffffffffffffffffffffffffffffff/queues/${JOBS}/messages/pull`, {}),
    },
    { what: 'an unknown queue', status: 404, send: () => post(`${messagesPath('nope')}/pull`, {}) },
    { what: 'an unknown route', status: 404, send: () => post(`${messagesPath()}/peek-a-boo`, {}) },
    {
      what: 'a form Content-Type',
      status: 400,
      send: () => post(`${messagesPath()}/pull`, '{}', { contentType: 'application/x-www-form-urlencoded' }),
    },
    { what: 'malformed JSON', status: 400, send: () => post(`${messagesPath()}/pull`, '{"batch_size":') },
    {
      what: 'the docs’ visibility_timeout',
      status: 400,
      send: () => post(`${messagesPath()}/pull`, { visibility_timeout: 1 }),
    },
    { what: 'batch_size 0', status: 400, send: () => post(`${messagesPath()}/pull`, { batch_size: 0 }) },
    { what: 'batch_size 101', status: 400, send: () => post(`${messagesPath()}/pull`, { batch_size: 101 }) },
    {
      what: 'a visibility timeout over 12 h',
      status: 400,
      send: () => post(`${messagesPath()}/pull`, { visibility_timeout_ms: 12 * 3600_000 + 1 }),
    },
    { what: 'no content_type', status: 400, send: () => post(messagesPath(), { body: { n: 1 } }) },
    {
      what: 'a number as text',
      status: 400,
      send: () => post(messagesPath(), { body: 1, content_type: 'text' }),
    },
    {
      what: 'a delay over 12 h',
      status: 400,
      send: () => post(messagesPath(), { body: 'x', content_type: 'text', delay_seconds: 43_201 }),
    },
    {
      what: 'a body over 128 KB',
      status: 400,
      send: () => post(messagesPath(), { body: 'x'.repeat(128_001), content_type: 'text' }),
    },
    {
      what: 'a batch of 101',
      status: 400,
      send: () =>
        post(`${messagesPath()}/batch`, {
          messages: Array.from({ length: 101 }, () => ({ body: 'x', content_type: 'text' })),
        }),
    },
    {
      what: 'an ack without lease_id',
      status: 400,
      send: () => post(`${messagesPath()}/ack`, { acks: [{}] }),
    },
    {
      what: 'a retry with an unknown field',
      status: 400,
      send: () => post(`${messagesPath()}/ack`, { retries: [{ lease_id: 'x', delay: 1 }] }),
    },
  ];

  for (const { what, status, send } of cases) {
    it(`refuses ${what} with ${status} in Cloudflare's error shape, and records it`, async () => {
      const queues = await startFake();
      const answer = await send();
      expect(answer.status).toBe(status);
      expect(answer.json).toMatchObject({ success: false, messages: [], result: null });
      const [error] = answer.json.errors as { code: number; message: string }[];
      expect(error).toEqual({ code: expect.any(Number), message: expect.any(String) });
      expect(queues.violations).toHaveLength(1);
      expect(queues.violations[0]).toMatchObject({ status, problems: [expect.any(String)] });
      expect(() => queues.assertNoViolations()).toThrow(/refused 1 request/);
      expect(queues.requests.at(-1)?.status).toBe(status);
    });
  }

  it('names the field and the rule in a refused body', async () => {
    const queues = await startFake();
    await post(`${messagesPath()}/pull`, { batch_size: 101, visibility_timeout: 1 });
    const [violation] = queues.violations;
    expect(violation.problems.join('\n')).toMatch(/batch_size: .*100/);
    expect(violation.problems.join('\n')).toMatch(/visibility_timeout/);
  });
});

describe('fake Cloudflare Queues: scripted trouble', () => {
  it('fails the next N pulls with a 5xx without leasing anything, then answers again', async () => {
    const queues = await startFake();
    await push({ n: 1 });
    queues.failNext('pull', 2, { status: 502 });
    for (let i = 0; i < 2; i++) {
      const { status, json } = await post(`${messagesPath()}/pull`, {});
      expect(status).toBe(502);
      expect(json).toMatchObject({ success: false, result: null });
    }
    expect(queues.stats(JOBS)).toMatchObject({ leased: 0, delivered: 0 });
    expect((await pull()).messages).toHaveLength(1);
    expect(queues.requests.map((r) => [r.route, r.status, r.injected])).toEqual([
      ['push', 200, undefined],
      ['pull', 502, 'failure'],
      ['pull', 502, 'failure'],
      ['pull', 200, undefined],
    ]);
    // An injected failure is the fake's doing, not the client's: no violation.
    queues.assertNoViolations();
  });

  it('can lose the answer after the work: the ack counted although the client saw a 503', async () => {
    const queues = await startFake();
    await push({ n: 1 });
    const [message] = (await pull()).messages;
    queues.failNext('ack', 1, { afterProcessing: true });
    const { status } = await post(`${messagesPath()}/ack`, { acks: [{ lease_id: message.lease_id }] });
    expect(status).toBe(503);
    expect(queues.stats(JOBS)).toMatchObject({ acked: 1, backlog: 0 });
    // The client's retry of the same ack is harmless: a warning.
    expect(Object.keys((await ack([message.lease_id])).warnings)).toEqual([message.lease_id]);
  });

  it('holds a delayed request back while other requests are answered', async () => {
    const queues = await startFake();
    queues.delayNext('push', 1, 1_500);
    let answered = false;
    const slow = post(messagesPath(), { body: 'slow', content_type: 'text' }).then(() => {
      answered = true;
    });
    while (!queues.requests.some((r) => r.route === 'push')) await new Promise((r) => setTimeout(r, 10));
    // Received but not yet carried out: a pull meanwhile finds nothing, and the push is unanswered.
    expect((await pull()).messages).toEqual([]);
    expect(answered).toBe(false);
    await slow;
    expect(queues.requests.find((r) => r.route === 'push')?.injected).toBe('delay');
    expect((await pull()).messages.map((m) => m.body)).toEqual(['slow']);
  });

  it('resolves waitForMessages when the messages arrive, and rejects when they do not', async () => {
    const queues = await startFake();
    const arrived = queues.waitForMessages(JOBS, 2, 10_000);
    await push({ n: 1 });
    await push({ n: 2 });
    await arrived;
    await expect(queues.waitForMessages(JOBS, 3, 50)).rejects.toThrow(/2 of 3 messages/);
  });
});
