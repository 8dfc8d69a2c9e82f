// GET /metrics: the scale-out work per model and tier in Prometheus text, for an autoscaler
// (infra/k8s: KEDA scales gpu-workers on backlog + in flight per worker slot), and the operator's
// counters (requests, refusals by reason, jobs by outcome, images by source). Every gauge series
// is present, at 0 when idle, so a scaler can tell "no work" from "no data". Authenticated with
// METRICS_TOKEN or OPERATOR_TOKEN (bearer tokens; compared in constant time); without either the
// route is off.
import { TIERS } from '@latent-edge/shared/protocol/dispatch';
import { Hono } from 'hono';
import type { AppEnv } from '../env.ts';
import { counterLines, labelValue as label } from '../metrics/counter-exposition.ts';
import { readCounters } from '../metrics/operator-counters.ts';
import { requireOperatorToken } from '../middleware/operator-auth.ts';

const PROMETHEUS_TEXT = 'text/plain; version=0.0.4; charset=utf-8';

const HELP = {
  latent_edge_dispatch_backlog: 'Jobs in the GPU queues not yet claimed by a gpu-worker',
  latent_edge_dispatch_in_flight: 'Jobs claimed by a gpu-worker and not yet finished',
  latent_edge_dispatch_waiting: "Jobs held at the edge behind their key's fair share",
} as const;

export const metrics = new Hono<AppEnv>();

metrics.get('/metrics', async (c) => {
  const { METRICS_TOKEN, OPERATOR_TOKEN } = c.var.config;
  requireOperatorToken(c, [METRICS_TOKEN, OPERATOR_TOKEN], 'METRICS_TOKEN or OPERATOR_TOKEN', 'metrics');
  const [counters, rows] = await Promise.all([
    readCounters(c.env),
    Promise.all(
      c.var.config.MODELS.flatMap((model) =>
        TIERS.map(async (tier) => ({
          model: model.id,
          tier,
          counts: await c.env.DISPATCH_GAUGE.getByName(`${model.id}:${tier}`).counts(),
        })),
      ),
    ),
  ]);
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
  lines.push(...counterLines(counters));
  return c.body(`${lines.join('\n')}\n`, 200, {
    'Content-Type': PROMETHEUS_TEXT,
    'Cache-Control': 'no-store',
  });
});
