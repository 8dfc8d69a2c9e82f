// `npm run scale-out:config [out]`: the edge's wrangler config for scale-out mode, derived from
// wrangler.toml so nothing is written twice: JOB_DISPATCH = "queues", a producer binding for each
// served model's interactive and batch GPU queue (named by shared/src/protocol/dispatch.ts), and
// the edge as push consumer of their dead-letter queue (a job whose messages all failed ends with
// a readable reason). The GPU queues themselves get no consumer here: their gpu-workers pull them
// over HTTP (`wrangler queues consumer http add`, infra/DEPLOY.md "Scale out").
// Deploy with `npx wrangler deploy -c wrangler.scale-out.json`; the end-to-end test runs it too.
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { experimental_readRawConfig } from 'wrangler';
import {
  DISPATCH_DEAD_LETTER_QUEUE,
  dispatchBindingName,
  dispatchQueueName,
  TIERS,
} from '../../shared/src/protocol/dispatch.ts';

const ROOT = resolve(import.meta.dirname, '../..');

type RawConfig = Record<string, unknown> & {
  main?: string;
  vars?: Record<string, unknown>;
  queues?: { producers?: unknown[]; consumers?: unknown[] };
  build?: Record<string, unknown>;
};

/** The served model ids, from wrangler.toml's MODELS. */
function modelIds(raw: RawConfig): string[] {
  const models = raw.vars?.MODELS;
  if (!Array.isArray(models)) throw new Error('wrangler.toml: [vars] MODELS is missing');
  return models.map((m) => String((m as { id: unknown }).id));
}

/**
 * The scale-out config from wrangler.toml's raw config. Paths are made absolute (from `root`), so
 * the file works wherever it is written.
 */
export function scaleOutConfig(raw: RawConfig, root: string = ROOT): RawConfig {
  const producers = modelIds(raw).flatMap((model) =>
    TIERS.map((tier) => ({
      binding: dispatchBindingName(model, tier),
      queue: dispatchQueueName(model, tier),
    })),
  );
  return {
    ...raw,
    main: resolve(root, raw.main ?? 'edge/src/index.ts'),
    build: raw.build && { ...raw.build, cwd: root },
    vars: { ...raw.vars, JOB_DISPATCH: 'queues' },
    queues: {
      ...raw.queues,
      producers: [...(raw.queues?.producers ?? []), ...producers],
      consumers: [
        ...(raw.queues?.consumers ?? []),
        { queue: DISPATCH_DEAD_LETTER_QUEUE, max_batch_size: 10, max_batch_timeout: 1, max_retries: 3 },
      ],
    },
  };
}

/** Writes the scale-out config (JSON) and returns its path and the GPU queues it produces to. */
export function writeScaleOutConfig(out: string, configPath = join(ROOT, 'wrangler.toml')) {
  const { rawConfig } = experimental_readRawConfig({ config: configPath });
  const config = scaleOutConfig(rawConfig as RawConfig);
  writeFileSync(out, `${JSON.stringify(config, null, 2)}\n`);
  const queues = modelIds(rawConfig as RawConfig).flatMap((model) =>
    TIERS.map((tier) => dispatchQueueName(model, tier)),
  );
  return { path: out, queues };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const out = resolve(process.argv[2] ?? join(ROOT, 'wrangler.scale-out.json'));
  const { path, queues } = writeScaleOutConfig(out);
  console.log(`wrote ${path}: JOB_DISPATCH=queues, producers for ${queues.join(', ')}`);
}
