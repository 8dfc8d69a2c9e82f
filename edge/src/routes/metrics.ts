// GET /metrics: the scale-out work per model and tier in Prometheus text, for an autoscaler
// (infra/k8s: KEDA scales gpu-workers on backlog + in flight per worker slot). Every series is
// present, at 0 when idle, so a scaler can tell "no work" from "no data". Authenticated with
// METRICS_TOKEN (a bearer token; compared in constant time); without it the route is off.
import { constantTimeEqual } from '@latent-edge/shared/crypto/hmac';
import { TIERS } from '@latent-edge/shared/protocol/dispatch';
import { Hono } from 'hono';
import type { AppEnv } from '../env.ts';
import { ApiError } from '../http/api-error.ts';

const PROMETHEUS_TEXT = 'text/plain; version=0.0.4; charset=utf-8';

const HELP = {
  latent_edge_dispatch_backlog: 'Jobs in the GPU queues not yet claimed by a gpu-worker',
  latent_edge_dispatch_in_flight: 'Jobs claimed by a gpu-worker and not yet finished',
  latent_edge_dispatch_waiting: "Jobs held at the edge behind their key's fair share",
} as const;

/** Label values are quoted; model ids are plain, but escape as the format says anyway. */
const label = (value: string) => value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');

export const metrics = new Hono<AppEnv>();

metrics.get('/metrics', async (c) => {
  const token = c.var.config.METRICS_TOKEN;
  if (!token) throw new ApiError(404, 'not_found', 'metrics are off (METRICS_TOKEN is not set)');
  const presented = /^Bearer (.+)$/.exec(c.req.header('Authorization') ?? '')?.[1] ?? '';
  if (!constantTimeEqual(presented, token)) {
    throw new ApiError(401, 'unauthorized', 'a valid metrics token is required', {
      headers: { 'WWW-Authenticate': 'Bearer realm="metrics"' },
    });
  }
  const rows = await Promise.all(
    c.var.config.MODELS.flatMap((model) =>
      TIERS.map(async (tier) => ({
        model: model.id,
        tier,
        counts: await c.env.DISPATCH_GAUGE.getByName(`${model.id}:${tier}`).counts(),
      })),
    ),
  );
  const lines: string[] = [];
  const header = (name: keyof typeof HELP) =>
    lines.push(`# HELP ${name} ${HELP[name]}`, `# TYPE ${name} gauge`);
  header('latent_edge_dispatch_backlog');
  for (const r of rows)
    lines.push(
      `latent_edge_dispatch_backlog{model="${label(r.model)}",tier="${r.tier}"} ${r.counts.backlog}`,
    );
  header('latent_edge_dispatch_in_flight');
  for (const r of rows)
    lines.push(
      `latent_edge_dispatch_in_flight{model="${label(r.model)}",tier="${r.tier}"} ${r.counts.in_flight}`,
    );
  header('latent_edge_dispatch_waiting');
  for (const model of c.var.config.MODELS) {
    const waiting = rows.filter((r) => r.model === model.id).reduce((sum, r) => sum + r.counts.waiting, 0);
    lines.push(`latent_edge_dispatch_waiting{model="${label(model.id)}"} ${waiting}`);
  }
  return c.body(`${lines.join('\n')}\n`, 200, {
    'Content-Type': PROMETHEUS_TEXT,
    'Cache-Control': 'no-store',
  });
});
