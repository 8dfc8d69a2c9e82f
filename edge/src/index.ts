// The edge Worker: wrangler.toml's `main`. Public playground, image and share routes; Discord's
// interactions endpoint (signed by Discord, not an API key); the native API and the OpenAI- and
// AUTOMATIC1111-compatible ones behind an API key and its rate limit; one error path; the JOBS
// queue consumer; and the Durable Object classes the bindings name.
import { Hono } from 'hono';
import { guardBindings } from './bindings/guarded-bindings.ts';
import { edgeConfig } from './config/edge-config.ts';
import { discordInteractions } from './discord/interactions.ts';
import type { AppEnv } from './env.ts';
import { handleQueue } from './jobs/queue-consumer.ts';
import type { QueueMessage } from './jobs/queue-message.ts';
import { requireApiKey } from './middleware/auth.ts';
import { notFound, onError } from './middleware/errors.ts';
import { rateLimit } from './middleware/rate-limit.ts';
import { requestMetrics } from './middleware/request-metrics.ts';
import { a1111 } from './routes/a1111.ts';
import { a1111Options } from './routes/a1111-options.ts';
import { a1111PngInfo } from './routes/a1111-png-info.ts';
import { a1111Progress } from './routes/a1111-progress.ts';
import { comfy } from './routes/comfy.ts';
import { gpuDispatch } from './routes/gpu-dispatch.ts';
import { images } from './routes/images.ts';
import { jobs } from './routes/jobs.ts';
import { metrics } from './routes/metrics.ts';
import { models } from './routes/models.ts';
import { openai } from './routes/openai.ts';
import { openaiEdits } from './routes/openai-edits.ts';
import { apiReference } from './routes/openapi.ts';
import { operator } from './routes/operator.ts';
import { playground } from './routes/playground.ts';
import { serveImage } from './routes/serve-image.ts';
import { sharePage } from './routes/share-page.ts';
import { tokenize } from './routes/tokenize.ts';
import { usage } from './routes/usage.ts';
import { webhookSecretRoute } from './routes/webhook-secret.ts';

export { ComfyHub } from './comfy/comfy-hub.ts';
export { A1111Session } from './durable-objects/a1111-session.ts';
export { DispatchGauge } from './durable-objects/dispatch-gauge.ts';
export { FairShare } from './durable-objects/fair-share.ts';
export { JobState } from './durable-objects/job-state.ts';
export { RateLimiter } from './durable-objects/rate-limiter.ts';
export { OperatorCounters } from './metrics/operator-counters.ts';
export { KeyUsage } from './usage/key-usage.ts';

export const app = new Hono<AppEnv>();

// Outermost: every answer, errors included, is counted for GET /metrics.
app.use(requestMetrics);
app.use(async (c, next) => {
  c.set('config', edgeConfig(c.env));
  // After the config (parsed once per env object): a failing binding call is a 503, not a 500.
  c.env = guardBindings(c.env);
  await next();
});

app.route('/', playground);
app.route('/i', serveImage);
app.route('/p', sharePage);
app.route('/discord', discordInteractions);
app.route('/', apiReference);
// gpu-workers claiming and reporting pulled jobs (scale-out mode): signed, not API-keyed.
app.route('/internal/gpu', gpuDispatch);
// Prometheus text for autoscalers, behind its own token (METRICS_TOKEN).
app.route('/', metrics);
// The operator's view of any key, behind OPERATOR_TOKEN: before /v1's API-key middleware.
app.route('/v1/operator', operator);

app.use('/v1/*', requireApiKey, rateLimit);
app.use('/sdapi/*', requireApiKey, rateLimit);
app.route('/v1/images', openai);
app.route('/v1/images', openaiEdits);
app.route('/v1/images', images);
app.route('/v1/jobs', jobs);
app.route('/v1/models', models);
app.route('/v1/tokenize', tokenize);
app.route('/v1/usage', usage);
app.route('/v1/webhook-secret', webhookSecretRoute);
app.route('/sdapi/v1', a1111);
app.route('/sdapi/v1', a1111PngInfo);
app.route('/sdapi/v1', a1111Progress);
app.route('/sdapi/v1', a1111Options);

// The ComfyUI-compatible API, at ComfyUI's own paths. The websocket is authenticated but not
// rate-limited: it is one long request, and clients reconnect on their own.
const COMFY_PATHS = ['/prompt', '/queue', '/interrupt', '/history', '/history/*', '/view', '/upload/image'];
const COMFY_INFO_PATHS = ['/object_info', '/object_info/*', '/system_stats'];
for (const path of [...COMFY_PATHS, ...COMFY_INFO_PATHS]) app.use(path, requireApiKey, rateLimit);
app.use('/ws', requireApiKey);
app.route('/', comfy);

app.notFound(notFound);
app.onError(onError);

export default {
  fetch: app.fetch,
  queue: handleQueue,
} satisfies ExportedHandler<Env, QueueMessage>;
