// Webhooks: https only and never to private, loopback or link-local targets; the outcome of a job
// is POSTed signed (Standard Webhooks); failed deliveries are retried by the queue with backoff.
import { createExecutionContext, createMessageBatch, env, getQueueResult } from 'cloudflare:test';
import { beforeAll, describe, expect, it } from 'vitest';
import worker from '../src/index.ts';
import { backoffSeconds } from '../src/jobs/queue-consumer.ts';
import type { QueueMessage } from '../src/jobs/queue-message.ts';
import { deliveryFailure } from '../src/webhooks/deliver-webhook.ts';
import {
  call,
  createApiKey,
  type ErrorBody,
  eventually,
  postJson,
  uniquePrompt,
  webhooksFor,
} from './support/api.ts';

let key: string;
let owner: string;
beforeAll(async () => {
  const created = await createApiKey({ rateLimit: { requests: 1000, window_seconds: 60 } });
  key = created.key;
  owner = created.record.id;
});

/** Standard Webhooks verification, written here independently of the Worker's signing code. */
async function verifies(secret: string, headers: Record<string, string>, body: string): Promise<boolean> {
  const keyBytes = Uint8Array.from(atob(secret.slice('whsec_'.length)), (c) => c.charCodeAt(0));
  const cryptoKey = await crypto.subtle.importKey('raw', keyBytes, { name: 'HMAC', hash: 'SHA-256' }, false, [
    'verify',
  ]);
  const signature = Uint8Array.from(atob(headers['webhook-signature'].replace(/^v1,/, '')), (c) =>
    c.charCodeAt(0),
  );
  const signed = `${headers['webhook-id']}.${headers['webhook-timestamp']}.${body}`;
  return crypto.subtle.verify('HMAC', cryptoKey, signature, new TextEncoder().encode(signed));
}

describe('webhooks', () => {
  it.each([
    ['http://example.com/hook', 'must use https'],
    ['https://127.0.0.1/hook', 'private, loopback'],
    ['https://10.1.2.3/hook', 'private, loopback'],
    ['https://169.254.169.254/latest/meta-data', 'link-local'],
    ['https://[::1]/hook', 'private, loopback'],
    ['https://[::ffff:192.168.0.1]/hook', 'private, loopback'],
    ['https://[fe80::1]/hook', 'private, loopback'],
    ['https://localhost/hook', 'local name'],
    ['https://intranet/hook', 'local name'],
    ['https://[64:ff9b::a00:1]/hook', 'private, loopback'],
    ['https://[64:ff9b:1::1]/hook', 'private, loopback'],
    ['https://[2002:a9fe:a9fe::1]/latest/meta-data', 'private, loopback'],
    ['https://[fec0::1]/hook', 'private, loopback'],
    ['https://[::127.0.0.1]/hook', 'private, loopback'],
    ['https://[::8.8.8.8]/hook', 'private, loopback'],
    ['https://[::ffff:0:127.0.0.1]/hook', 'private, loopback'],
    ['https://[0:0:0:0:0:ffff:a9fe:a9fe]/hook', 'private, loopback'],
    ['https://[2001::1]/hook', 'private, loopback'],
    ['https://printer.local/hook', 'local name'],
    ['https://user:pass@example.com/hook', 'credentials'],
    ['not a url', 'is not a URL'],
  ])('refuses %s with a 400 naming the rule', async (target, rule) => {
    const response = await postJson('/v1/images', { prompt: uniquePrompt('hooked'), webhook: target }, key);
    expect(response.status).toBe(400);
    const { error } = (await response.json()) as ErrorBody;
    expect(error.field).toBe('webhook');
    expect(error.message).toContain(rule);
  });

  it('runs a request with a webhook as a job and POSTs the signed outcome when it succeeds', async () => {
    const response = await postJson(
      '/v1/images',
      { prompt: uniquePrompt('hooked'), seed: 2, webhook: 'https://ok.hooks.test/done' },
      key,
    );
    expect(response.status).toBe(202);
    const { id } = (await response.json()) as { id: string };
    const [delivery] = await eventually(async () => {
      const found = await webhooksFor(id);
      return found.length > 0 ? found : undefined;
    });
    expect(delivery.path).toBe('/done');
    const body = JSON.parse(delivery.body) as { id: string; status: string; result: { images: unknown[] } };
    expect(body).toMatchObject({ id, status: 'succeeded' });
    expect(body.result.images).toHaveLength(1);

    const { secret } = (await (await call('/v1/webhook-secret', { key })).json()) as { secret: string };
    expect(secret).toMatch(/^whsec_/);
    expect(await verifies(secret, delivery.headers, delivery.body)).toBe(true);
    expect(await verifies(secret, delivery.headers, delivery.body.replace('succeeded', 'failed'))).toBe(
      false,
    );
    expect(Math.abs(Number(delivery.headers['webhook-timestamp']) - Date.now() / 1000)).toBeLessThan(60);

    const job = await eventually(async () => {
      const record = (await (await call(`/v1/jobs/${id}`, { key })).json()) as {
        webhook?: { delivered_at?: string };
      };
      return record.webhook?.delivered_at ? record : undefined;
    });
    expect(job.webhook?.delivered_at).toBeDefined();
  });

  it('gives each API key its own signing secret', async () => {
    const other = await createApiKey();
    const mine = (await (await call('/v1/webhook-secret', { key })).json()) as { secret: string };
    const theirs = (await (await call('/v1/webhook-secret', { key: other.key })).json()) as {
      secret: string;
    };
    expect(mine.secret).not.toBe(theirs.secret);
  });

  it('retries a failed delivery with backoff, records the error, and gives up after five attempts', async () => {
    const id = crypto.randomUUID();
    const now = new Date().toISOString();
    const state = env.JOB_STATE.getByName(id);
    await state.create({
      id,
      owner,
      status: 'queued',
      created_at: now,
      updated_at: now,
      attempts: 0,
      base_url: 'https://edge.test',
      webhook: { url: 'https://fail-a.hooks.test/hook', attempts: 0 },
    });
    await state.start();
    await state.finish({ error: { code: 'gpu_rejected', message: 'test' } });

    const deliver = async (attempts: number) => {
      const batch = createMessageBatch<QueueMessage>('latent-edge-jobs', [
        { id: `m${attempts}`, timestamp: new Date(), attempts, body: { type: 'webhook', job_id: id } },
      ]);
      const ctx = createExecutionContext();
      await worker.queue(batch, env, ctx);
      return getQueueResult(batch, ctx);
    };
    const second = await deliver(2);
    // getQueueResult reports which messages were retried, not their delay (see the next test).
    expect(second.retryMessages.map((m: { msgId: string }) => m.msgId)).toEqual(['m2']);
    expect(second.explicitAcks).toEqual([]);
    const last = await deliver(5);
    expect(last.retryMessages).toEqual([]);
    expect(last.explicitAcks).toEqual(['m5']);

    const record = await state.get();
    expect(record?.webhook).toMatchObject({ attempts: 2, last_error: 'answered 500' });
    expect(record?.webhook?.delivered_at).toBeUndefined();
    expect(await webhooksFor(id)).toHaveLength(2);
  });

  it('accepts public IPv6 targets, including NAT64 and 6to4 forms of public IPv4', async () => {
    for (const target of [
      'https://[2606:4700::1111]/hook',
      'https://[64:ff9b::808:808]/hook',
      'https://[2002:808:808::1]/hook',
    ]) {
      const response = await postJson('/v1/images', { prompt: uniquePrompt('v6'), webhook: target }, key, {
        Prefer: 'respond-async',
      });
      expect(response.status, target).toBe(202);
    }
  });

  it("tells the owner a failed connection without the network's own error text", () => {
    // The local runtime answers a failing outbound fetch with a 500 rather than a rejection, so
    // the errors a real network throws are given here as workerd words them.
    const refused = new Error('Network connection lost: connect ECONNREFUSED 10.0.0.7:6379');
    expect(deliveryFailure(refused)).toBe('the connection failed');
    expect(deliveryFailure(new TypeError('DNS lookup failed for redis.internal'))).toBe(
      'the connection failed',
    );
    expect(deliveryFailure(new DOMException('The operation timed out', 'TimeoutError'))).toBe(
      'no answer within 10 s',
    );
  });

  it('backs off 10, 20, 40 and 80 s between retries, never more than 5 minutes', () => {
    expect([1, 2, 3, 4, 10].map(backoffSeconds)).toEqual([10, 20, 40, 80, 300]);
  });
});
