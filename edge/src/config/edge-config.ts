// The edge's configuration: wrangler.toml vars and secrets (Env), declared there and validated
// here, once per isolate. A bad value answers every request with a 500 naming the variable, the
// value and the rule, rather than failing later in a way that looks like the client's fault.
import { z } from 'zod';
import { DISCORD_CONFIG } from '../discord/discord-config.ts';
import { ApiError } from '../http/api-error.ts';
import { DEFAULT_RULES_KEY, PromptRulesByModel } from '../safety/prompt-rules.ts';
import { ModelConfig } from './model-config.ts';

/** Vars arrive as JSON values from wrangler.toml, or strings from the dashboard and `.dev.vars`. */
const integer = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

const secret = (name: string) =>
  z
    .string({ error: `${name} is not set (wrangler secret put ${name}, or .dev.vars locally)` })
    .min(32, { error: `${name} must be at least 32 characters` });

const httpUrl = z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' });

/**
 * Hosts plain http may reach: loopback (the local stack) and `.test` names (RFC 6761: never in
 * public DNS; the edge tests' fake gpu-workers). Anything else carries the signed jobs, prompts
 * and images across a network in clear text.
 */
const PLAIN_HTTP_HOST = /^(localhost|127(\.\d{1,3}){3}|\[::1\]|([a-z0-9-]+\.)*(localhost|test))$/i;

const gpuWorkerUrl = httpUrl.refine(
  (url) => {
    const { protocol, hostname } = new URL(url);
    return protocol === 'https:' || PLAIN_HTTP_HOST.test(hostname);
  },
  { error: (issue) => `${String(issue.input)} uses plain http to a host that is not loopback: use https` },
);

export const EdgeConfig = z
  .object({
    /** gpu-worker base URLs, comma-separated: https, or plain http to loopback or `.test` hosts. */
    GPU_WORKERS: z
      .string()
      .transform((value) =>
        value
          .split(',')
          .map((url) => url.trim().replace(/\/+$/, ''))
          .filter(Boolean),
      )
      .pipe(z.array(gpuWorkerUrl).min(1, { error: 'GPU_WORKERS lists no URL' })),
    /**
     * How jobs reach the gpu-workers: "push" sends each to a GPU_WORKERS URL; "queues" puts it on
     * its model's GPU queue for workers to pull (scale-out; infra/DEPLOY.md "Scale out").
     */
    JOB_DISPATCH: z.enum(['push', 'queues']).default('push'),
    /** Scale-out mode: jobs of one API key (or Discord server) in the GPU queues at once; a key's record may say otherwise. */
    MAX_IN_FLIGHT_PER_KEY: integer(1, 1000).default(4),
    /** Scale-out mode: how long a worker's claim lives without a progress post (ms). */
    DISPATCH_LEASE_MS: integer(1000, 600_000).default(15_000),
    /** Bearer token of GET /metrics (Prometheus); unset: the route answers 404. */
    METRICS_TOKEN: z.union([z.literal(''), secret('METRICS_TOKEN')]).optional(),
    /** Bearer token of the operator routes (GET /v1/operator/keys/:id/usage; also accepted by /metrics); unset: they answer 404. */
    OPERATOR_TOKEN: z.union([z.literal(''), secret('OPERATOR_TOKEN')]).optional(),
    /** One gpu-worker attempt's deadline, in ms; also the job's timeout_ms (the protocol's minimum is 1 s). */
    GPU_TIMEOUT_MS: integer(1000, 900_000).default(120_000),
    /** Origin for image and job URLs; empty: the request's origin. */
    PUBLIC_URL: z.union([z.literal(''), httpUrl]).default(''),
    RATE_LIMIT_REQUESTS: integer(1, 10_000).default(60),
    RATE_LIMIT_WINDOW_SECONDS: integer(1, 86_400).default(60),
    /** How long an isolate trusts an API key record it read from KV, in seconds; 0: read every time. */
    API_KEY_CACHE_SECONDS: integer(0, 60).default(60),
    /** Body limit of the generation routes, in bytes. */
    MAX_BODY_BYTES: integer(1024, 100 * 1024 * 1024).default(12 * 1024 * 1024),
    /** Local development only: webhooks to http:// and to private, loopback and link-local hosts. */
    ALLOW_LOCAL_WEBHOOKS: z
      .union([z.boolean(), z.enum(['true', 'false'])])
      .default(false)
      .transform((v) => v === true || v === 'true'),
    MODELS: z
      .array(ModelConfig)
      .min(1)
      .refine((models) => new Set(models.map((m) => m.id)).size === models.length, {
        error: 'model ids must be unique',
      }),
    /**
     * The prompt policy (edge/src/safety): blocked terms and patterns per model id, "*" for models
     * without an entry; JSON, or a table in wrangler.toml. None by default.
     */
    PROMPT_RULES: PromptRulesByModel,
    GPU_SHARED_SECRET: secret('GPU_SHARED_SECRET'),
    CACHE_KEY_SECRET: secret('CACHE_KEY_SECRET'),
    /** Optional: without it, webhooks are off. */
    WEBHOOK_SECRET: secret('WEBHOOK_SECRET').optional(),
    /** Discord /imagine (edge/src/discord/discord-config.ts). */
    ...DISCORD_CONFIG,
  })
  .superRefine((config, ctx) => {
    // A misspelt model id would leave that model with the "*" rules without anyone noticing.
    for (const id of Object.keys(config.PROMPT_RULES)) {
      if (id !== DEFAULT_RULES_KEY && !config.MODELS.some((model) => model.id === id)) {
        ctx.addIssue({
          code: 'custom',
          path: ['PROMPT_RULES', id],
          message: `"${id}" is not one of MODELS' ids`,
        });
      }
    }
  });

export type EdgeConfig = z.output<typeof EdgeConfig>;

/** Bodies of the routes that take no image: small JSON only. */
export const SMALL_BODY_BYTES = 64 * 1024;

const parsed = new WeakMap<object, EdgeConfig>();

export function edgeConfig(env: Env): EdgeConfig {
  let config = parsed.get(env);
  if (!config) {
    const result = EdgeConfig.safeParse(env);
    if (!result.success) {
      const issue = result.error.issues[0];
      const name = issue.path.map(String).join('.');
      throw new ApiError(500, 'misconfigured', `edge configuration: ${name}: ${issue.message}`);
    }
    config = result.data;
    parsed.set(env, config);
  }
  return config;
}
