// `npm run keys -- usage <id>`: a key's usage, asked of the edge's operator route
// (GET /v1/operator/keys/:id/usage, Bearer OPERATOR_TOKEN), since it lives in the key's KeyUsage
// Durable Object, which only the Worker reaches; and its text for the terminal.
import type { UsageView } from '../../edge/src/usage/usage-view.ts';

export interface EdgeTarget {
  /** The edge's origin, e.g. http://127.0.0.1:8787 (npm start) or https://images.example.com. */
  url: string;
  operatorToken: string;
}

export async function fetchKeyUsage(edge: EdgeTarget, id: string): Promise<UsageView> {
  const url = `${edge.url.replace(/\/+$/, '')}/v1/operator/keys/${encodeURIComponent(id)}/usage`;
  const response = await fetch(url, { headers: { Authorization: `Bearer ${edge.operatorToken}` } });
  if (!response.ok) {
    const body = (await response.json().catch(() => undefined)) as
      | { error?: { message?: string } }
      | undefined;
    throw new Error(`${url}: ${response.status} ${body?.error?.message ?? response.statusText}`);
  }
  return (await response.json()) as UsageView;
}

const row = (label: string, t: UsageView['today']) =>
  `  ${label.padEnd(12)} ${String(t.jobs).padStart(8)} jobs ${String(t.images).padStart(8)} images ` +
  `${String(t.cached_images).padStart(8)} cached ${String(t.step_pixels).padStart(14)} step·px ` +
  `${t.worker_seconds.toFixed(3).padStart(12)} worker s`;

export function formatKeyUsage(view: UsageView): string {
  const limit = (value: number | null, remaining: number | null) =>
    value === null ? 'unlimited' : `${value} (${remaining} left)`;
  return [
    `usage of ${view.key} (UTC day ${view.day}, month ${view.month})`,
    row('today', view.today),
    row('this month', view.this_month),
    row('total', view.total),
    `  running: ${view.reserved_images} images reserved`,
    `  quota: images/day ${limit(view.quota.images_per_day, view.remaining.images_today)}, ` +
      `worker seconds/month ${limit(view.quota.worker_seconds_per_month, view.remaining.worker_seconds_this_month)}`,
  ].join('\n');
}
