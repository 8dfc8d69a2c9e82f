// The gpu-worker's configuration: environment variables, declared and validated in one place.
// A bad value stops start-up with a message naming the variable, the value and the rule.
import { existsSync } from 'node:fs';
import { basename, resolve } from 'node:path';
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

export const ConfigSchema = z.object({
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
});

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
