// The gpu-worker's configuration: environment variables, declared and validated in one place.
// A bad value stops start-up with a message naming the variable, the value and the rule.
import { existsSync } from 'node:fs';
import { hostname } from 'node:os';
import { basename, resolve } from 'node:path';
import { TIERS, type Tier } from '@latent-edge/shared/protocol/dispatch';
import { z } from 'zod';
import { EXECUTION_PROVIDERS } from './model/onnx-session.ts';

export const BUNDLED_MODEL_DIR = resolve(import.meta.dirname, '../models/tiny-sd');

const integer = (name: string, min: number, max: number, fallback: number) =>
  z
    .string()
    .optional()
    .transform((value, ctx) => {
      if (value === undefined || value === '') return fallback;
      const n = Number(value);
      if (!Number.isInteger(n) || n < min || n > max) {
        ctx.addIssue({
          code: 'custom',
          message: `${name}=${value}: must be an integer from ${min} to ${max}`,
        });
        return z.NEVER;
      }
      return n;
    });

export interface ModelEntry {
  id: string;
  dir: string;
}

/** `id=path` or a bare path (id = folder name), comma-separated. */
const models = z
  .string()
  .optional()
  .transform((value, ctx) => {
    const entries = (value || BUNDLED_MODEL_DIR)
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
    const parsed: ModelEntry[] = [];
    for (const entry of entries) {
      const eq = entry.indexOf('=');
      const dir = resolve(eq > 0 ? entry.slice(eq + 1) : entry);
      const id = eq > 0 ? entry.slice(0, eq) : basename(dir);
      if (!/^[A-Za-z0-9._-]{1,64}$/.test(id)) {
        ctx.addIssue({
          code: 'custom',
          message: `MODELS: model id "${id}" may use only letters, digits, . _ -`,
        });
      } else if (!existsSync(dir)) {
        ctx.addIssue({ code: 'custom', message: `MODELS: folder ${dir} (model "${id}") does not exist` });
      } else if (parsed.some((m) => m.id === id)) {
        ctx.addIssue({ code: 'custom', message: `MODELS: model id "${id}" is listed twice` });
      }
      parsed.push({ id, dir });
    }
    return parsed;
  });

const providers = z
  .string()
  .optional()
  .transform((value, ctx) => {
    const list = (value || 'cpu').split(',').map((s) => s.trim().toLowerCase());
    const unknown = list.filter((p) => !(EXECUTION_PROVIDERS as readonly string[]).includes(p));
    if (unknown.length > 0) {
      ctx.addIssue({
        code: 'custom',
        message: `PROVIDERS: unknown ${unknown.join(', ')}; use ${EXECUTION_PROVIDERS.join(', ')}`,
      });
    }
    return list as (typeof EXECUTION_PROVIDERS)[number][];
  });

/** One queue the worker pulls from: a served model's tier. */
export interface PullQueue {
  model: string;
  tier: Tier;
  queueId: string;
}

/** `<model>:<tier>=<queue id>`, comma-separated; empty (pull mode off) when unset. */
const pullQueues = z
  .string()
  .optional()
  .transform((value, ctx) => {
    const parsed: PullQueue[] = [];
    for (const entry of (value ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean)) {
      const match = /^([^:=]+):([^:=]+)=([A-Za-z0-9_-]{1,64})$/.exec(entry);
      if (!match) {
        ctx.addIssue({
          code: 'custom',
          message: `PULL_QUEUES: "${entry}" must be <model>:<tier>=<queue id>`,
        });
        continue;
      }
      const [, model, tier, queueId] = match;
      if (!(TIERS as readonly string[]).includes(tier)) {
        ctx.addIssue({
          code: 'custom',
          message: `PULL_QUEUES: tier "${tier}" in "${entry}" must be one of ${TIERS.join(', ')}`,
        });
      } else if (parsed.some((q) => q.model === model && q.tier === tier)) {
        ctx.addIssue({ code: 'custom', message: `PULL_QUEUES: ${model}:${tier} is listed twice` });
      }
      parsed.push({ model, tier: tier as Tier, queueId });
    }
    return parsed;
  });

/** An http(s) base URL without a trailing slash, or undefined when unset. */
const baseUrl = (name: string, fallback?: string) =>
  z
    .string()
    .optional()
    .transform((value, ctx) => {
      const raw = value || fallback;
      if (raw === undefined) return undefined;
      let url: URL | undefined;
      try {
        url = new URL(raw);
      } catch {}
      if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
        ctx.addIssue({ code: 'custom', message: `${name}=${raw}: must be an http(s) URL` });
        return z.NEVER;
      }
      return raw.replace(/\/+$/, '');
    });

/** Cloudflare caps a message's visibility timeout (and retry delays) at 12 hours. */
export const MAX_VISIBILITY_TIMEOUT_MS = 12 * 3_600_000;
/** How far the default visibility timeout reaches past JOB_TIMEOUT_MS: claim and result posts. */
const VISIBILITY_MARGIN_MS = 60_000;

const FieldsSchema = z.object({
  /** Models to serve. Default: the bundled small model. */
  MODELS: models,
  /** Execution providers in preference order; cpu is always the fallback. */
  PROVIDERS: providers,
  /** Images per batched UNet step (each guided image is two UNet rows); 1 turns batching off. */
  MAX_BATCH: integer('MAX_BATCH', 1, 64, 8),
  /** Jobs waiting to start, per model; more get 503 with Retry-After. */
  QUEUE_SIZE: integer('QUEUE_SIZE', 0, 10_000, 32),
  /** Shared with the edge; every job is signed with it (HMAC-SHA256). */
  GPU_SHARED_SECRET: z
    .string({ error: 'GPU_SHARED_SECRET is required (the edge signs jobs with it)' })
    .min(32, { error: 'GPU_SHARED_SECRET must be at least 32 characters' }),
  PORT: integer('PORT', 0, 65_535, 8788),
  /** Interface to listen on; 0.0.0.0 in containers. */
  HOST: z.string().default('127.0.0.1'),
  /** A job's deadline from arrival, unless the job asks for less. */
  JOB_TIMEOUT_MS: integer('JOB_TIMEOUT_MS', 1_000, 3_600_000, 300_000),
  /** Threads per operator; 0 lets onnxruntime choose. */
  INTRA_OP_THREADS: integer('INTRA_OP_THREADS', 0, 256, 0),
  /** On SIGTERM, how long running and queued jobs may take to finish before the process exits. */
  DRAIN_TIMEOUT_MS: integer('DRAIN_TIMEOUT_MS', 0, 3_600_000, 60_000),
  /** Largest accepted job body (token ids, embeddings, an init image). */
  MAX_BODY_BYTES: integer('MAX_BODY_BYTES', 1024, 256 * 1024 * 1024, 32 * 1024 * 1024),
  /**
   * Memory for LoRA-merged sessions per model (each set costs about the graphs it changes: the
   * bundled model's UNet 6 MB, SD 1.5's 3.4 GB in fp32); least recently used sets go first.
   */
  LORA_CACHE_MB: integer('LORA_CACHE_MB', 0, 1_048_576, 8192),

  // Pull mode (scale-out over Cloudflare Queues): on only when PULL_QUEUES is set.
  /** `<model>:<tier>=<queue id>` per queue to pull; each model must be one served here. */
  PULL_QUEUES: pullQueues,
  /** The edge's base URL, where pulled jobs are claimed and their progress and results posted. */
  EDGE_URL: baseUrl('EDGE_URL'),
  /** The Cloudflare API (a fake of it in tests). */
  QUEUES_API_URL: baseUrl('QUEUES_API_URL', 'https://api.cloudflare.com/client/v4'),
  QUEUES_ACCOUNT_ID: z.string().optional(),
  /** An API token with Queues read and write. */
  QUEUES_API_TOKEN: z.string().optional(),
  /**
   * How long a pulled message stays invisible to other workers; it must outlast a job (no lease
   * extension exists), so the default is JOB_TIMEOUT_MS plus a minute.
   */
  PULL_VISIBILITY_TIMEOUT_MS: integer('PULL_VISIBILITY_TIMEOUT_MS', 1_000, MAX_VISIBILITY_TIMEOUT_MS, 0),
  /** When both tiers have work, interactive pulls per batch pull (4: about 4 of 5 go to interactive). */
  INTERACTIVE_WEIGHT: integer('INTERACTIVE_WEIGHT', 1, 1_000, 4),
  /** The longest wait between pulls while the queues are empty (the wait doubles up to it). */
  PULL_IDLE_MAX_MS: integer('PULL_IDLE_MAX_MS', 10, 600_000, 2_000),
  /** Deliveries after which a retryable failure is final (the consumer's max_retries + 1). */
  PULL_MAX_ATTEMPTS: integer('PULL_MAX_ATTEMPTS', 1, 101, 4),
  /** This worker's name in claims and logs. Default: hostname:port. */
  WORKER_NAME: z.string().max(200).optional(),
});

type Fields = z.output<typeof FieldsSchema>;

/** Checks that need several variables at once, and the defaults that depend on others. */
export const ConfigSchema = FieldsSchema.superRefine((fields, ctx) => {
  if (fields.PULL_QUEUES.length === 0) return;
  const served = fields.MODELS.map((m) => m.id);
  for (const queue of fields.PULL_QUEUES) {
    if (!served.includes(queue.model)) {
      ctx.addIssue({
        code: 'custom',
        path: ['PULL_QUEUES'],
        message: `PULL_QUEUES: model "${queue.model}" is not served here (MODELS has ${served.join(', ')})`,
      });
    }
  }
  for (const name of ['EDGE_URL', 'QUEUES_ACCOUNT_ID', 'QUEUES_API_TOKEN'] as const) {
    if (!fields[name]) {
      ctx.addIssue({ code: 'custom', path: [name], message: `${name} is required when PULL_QUEUES is set` });
    }
  }
  const visibility = fields.PULL_VISIBILITY_TIMEOUT_MS;
  if (visibility !== 0 && visibility <= fields.JOB_TIMEOUT_MS) {
    ctx.addIssue({
      code: 'custom',
      path: ['PULL_VISIBILITY_TIMEOUT_MS'],
      message: `PULL_VISIBILITY_TIMEOUT_MS=${visibility}: must be above JOB_TIMEOUT_MS (${fields.JOB_TIMEOUT_MS}), or a running job's message is delivered again`,
    });
  }
}).transform((fields: Fields) => ({
  ...fields,
  PULL_VISIBILITY_TIMEOUT_MS:
    fields.PULL_VISIBILITY_TIMEOUT_MS ||
    Math.min(MAX_VISIBILITY_TIMEOUT_MS, fields.JOB_TIMEOUT_MS + VISIBILITY_MARGIN_MS),
  WORKER_NAME: fields.WORKER_NAME || `${hostname()}:${fields.PORT}`,
}));

export type Config = z.output<typeof ConfigSchema>;

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Validates the environment; throws ConfigError listing every bad value. */
export function loadConfig(env: Record<string, string | undefined>): Config {
  const result = ConfigSchema.safeParse(env);
  if (result.success) return result.data;
  const lines = result.error.issues.map((issue) => {
    const name = String(issue.path[0] ?? '');
    return issue.message.startsWith(name) ? issue.message : `${name}: ${issue.message}`;
  });
  throw new ConfigError(`invalid configuration:\n  ${[...new Set(lines)].join('\n  ')}`);
}
