// Counts every answer for GET /metrics: requests by route pattern (the registered path, never the
// raw URL, so the series stay few) and status, and each refusal (a 4xx) by its error code:
// rate_limited, quota_exceeded, prompt_blocked, invalid_request, … The counts go to the
// OperatorCounters shards past the answer (ctx.waitUntil).
import { createMiddleware } from 'hono/factory';
import { routePath } from 'hono/route';
import type { AppEnv } from '../env.ts';
import { toApiError } from '../http/api-error.ts';
import { type CounterIncrement, countLater } from '../metrics/operator-counters.ts';

export const requestMetrics = createMiddleware<AppEnv>(async (c, next) => {
  await next();
  let ctx: Pick<ExecutionContext, 'waitUntil'>;
  try {
    ctx = c.executionCtx;
  } catch {
    return; // app.request without an execution context (a unit test): nothing to count with.
  }
  const status = c.res.status;
  // After the chain, routeIndex is where it ended: the handler that answered, or the middleware
  // that threw. A 404 that nothing threw is the notFound handler's: no route matched.
  const route = !c.error && status === 404 ? 'unmatched' : routePath(c);
  const increments: CounterIncrement[] = [
    { name: 'latent_edge_requests_total', labels: { route, method: c.req.method, status: String(status) } },
  ];
  if (status >= 400 && status < 500) {
    const reason = c.error ? toApiError(c.error).code : 'not_found';
    increments.push({ name: 'latent_edge_refusals_total', labels: { reason } });
  }
  countLater(c.env, (p) => ctx.waitUntil(p), increments);
});
