// The keys script's quota and usage commands: quotas written to real local KV through wrangler
// (as `create` and `revoke` are), and `usage` asking an edge's operator route over real HTTP. The
// route itself runs in workerd in edge/test/usage.test.ts; here a loopback server plays it,
// checking the path and the operator token the way the route does.
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { UsageView } from '../../edge/src/usage/usage-view.ts';
import { createKey, listKeys, setQuota } from './keys.ts';
import { fetchKeyUsage, formatKeyUsage } from './usage-client.ts';

const persistTo = mkdtempSync(join(tmpdir(), 'latent-edge-keys-usage-'));
const TOKEN = 'operator-token-for-the-keys-test-0123456789';
const totals = (images: number) => ({
  jobs: images,
  images,
  cached_images: 2,
  step_pixels: images * 4096,
  worker_seconds: images * 0.5,
});
const VIEW: UsageView = {
  key: 'abcdef012345',
  day: '2026-12-08',
  month: '2026-12',
  today: totals(3),
  this_month: totals(30),
  total: totals(300),
  reserved_images: 1,
  quota: { images_per_day: 10, worker_seconds_per_month: null },
  remaining: { images_today: 6, worker_seconds_this_month: null },
  resets: { day_in_seconds: 100, month_in_seconds: 1000 },
};

let server: Server;
let edgeUrl: string;
const asked: string[] = [];

beforeAll(async () => {
  server = createServer((request, response) => {
    asked.push(request.url ?? '');
    const authorized = request.headers.authorization === `Bearer ${TOKEN}`;
    const known = request.url === `/v1/operator/keys/${VIEW.key}/usage`;
    const status = !authorized ? 401 : known ? 200 : 404;
    response.writeHead(status, { 'Content-Type': 'application/json' });
    response.end(
      JSON.stringify(status === 200 ? VIEW : { error: { code: 'x', message: `status ${status}` } }),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  edgeUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => {
  server.close();
  rmSync(persistTo, { recursive: true, force: true });
});

describe('infra/keys quotas and usage', () => {
  it('creates a key with quotas, changes one, removes both, keeping the rest of the record', async () => {
    const store = { persistTo };
    const { record } = await createKey(
      store,
      'metered',
      { requests: 5, window_seconds: 60 },
      { images_per_day: 100 },
    );
    expect(listKeys(store).find((r) => r.id === record.id)?.quota).toEqual({ images_per_day: 100 });

    setQuota(store, record.id, { worker_seconds_per_month: 3600 });
    const both = listKeys(store).find((r) => r.id === record.id);
    expect(both?.quota).toEqual({ images_per_day: 100, worker_seconds_per_month: 3600 });
    expect(both?.rate_limit).toEqual({ requests: 5, window_seconds: 60 });

    setQuota(store, record.id, { images_per_day: null, worker_seconds_per_month: null });
    const none = listKeys(store).find((r) => r.id === record.id);
    expect(none?.quota).toBeUndefined();
    expect(none?.hash).toBe(record.hash);
    expect(() => setQuota(store, 'nonexistent', { images_per_day: 1 })).toThrow('no key with id nonexistent');
  });

  it("asks the edge's operator route for a key's usage with the operator token, and prints it", async () => {
    const view = await fetchKeyUsage({ url: `${edgeUrl}/`, operatorToken: TOKEN }, VIEW.key);
    expect(view).toEqual(VIEW);
    expect(asked.at(-1)).toBe(`/v1/operator/keys/${VIEW.key}/usage`);
    const text = formatKeyUsage(view);
    expect(text).toContain(`usage of ${VIEW.key}`);
    expect(text).toMatch(/this month\s+30 jobs\s+30 images/);
    expect(text).toContain('images/day 10 (6 left)');
    expect(text).toContain('worker seconds/month unlimited');

    await expect(fetchKeyUsage({ url: edgeUrl, operatorToken: 'wrong' }, VIEW.key)).rejects.toThrow('401');
    await expect(fetchKeyUsage({ url: edgeUrl, operatorToken: TOKEN }, '000000000000')).rejects.toThrow(
      '404',
    );
  });
});
