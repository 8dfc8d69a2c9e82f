import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cloudflareTest } from '@cloudflare/vitest-pool-workers';
import { defineConfig } from 'vitest/config';
import { FAKE_DISCORD_BINDINGS, withFakeDiscord } from './edge/test/node/fake-discord.ts';
import {
  fakeGpuWorker,
  TEST_CACHE_KEY_SECRET,
  TEST_GPU_SECRET,
  TEST_WEBHOOK_SECRET,
} from './edge/test/node/fake-gpu-worker.ts';
import { withPromtool } from './edge/test/node/promtool-service.ts';
import { TEST_PROMPT_RULES } from './edge/test/node/test-prompt-rules.ts';
import { readTokenizerDir } from './shared/src/node/tokenizer-dir.ts';
import { compileTokenizer } from './shared/src/tokenizer/compiled-tokenizer.ts';
import { readTokenizerFiles } from './shared/src/tokenizer/tokenizer-files.ts';
import { referenceRoot } from './test/reference.ts';

// One runner, several projects: plain Node unit tests, the reference parity suites (also
// runnable alone with `npm run test:reference`), and shared code inside workerd, the Workers
// runtime, to show it runs there unchanged.

/** Hands the workerd suite the reference tokenizer (compiled) and its cases, when they exist. */
function workerdReferenceBindings() {
  const dir = join(referenceRoot(), 'clip-tokenizer');
  if (!existsSync(dir)) return { bindings: { REFERENCE_MISSING: dir } };
  const out = join(tmpdir(), 'latent-edge-test');
  mkdirSync(out, { recursive: true });
  const blob = join(out, 'clip-reference.tokenizer.bin');
  writeFileSync(blob, compileTokenizer(readTokenizerFiles(readTokenizerDir(dir))));
  return {
    dataBlobBindings: { CLIP_TOKENIZER: blob },
    textBlobBindings: { TOKENS_SD1: join(dir, 'tokens.json'), TOKENS_SD2: join(dir, 'tokens_sd2.json') },
  };
}

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: [
            'shared/test/**/*.test.ts',
            'gpu-worker/test/**/*.test.ts',
            'infra/**/*.test.ts',
            'test/**/*.test.ts',
          ],
          exclude: [
            '**/*.reference.test.ts',
            '**/*.workerd.test.ts',
            '**/*.e2e.test.ts',
            '**/node_modules/**',
          ],
          // Real sessions and child processes on 2 shared cores: generous, never a timing assertion.
          testTimeout: 120_000,
        },
      },
      {
        // The local stack `npm start` runs (infra/dev/stack.ts): the real gpu-worker and the edge
        // under `wrangler dev`, on loopback ports, driven over HTTP. One file, one stack; starting
        // and restarting wrangler dev dominates its time.
        test: {
          name: 'e2e',
          include: ['test/e2e/**/*.e2e.test.ts'],
          exclude: ['**/node_modules/**'],
          testTimeout: 180_000,
          hookTimeout: 300_000,
        },
      },
      {
        test: {
          name: 'reference',
          include: ['**/*.reference.test.ts'],
          exclude: ['**/node_modules/**'],
          testTimeout: 120_000,
        },
      },
      {
        plugins: [
          cloudflareTest({
            miniflare: { compatibilityDate: '2026-03-01', ...workerdReferenceBindings() },
          }),
        ],
        test: {
          name: 'workerd',
          include: ['shared/test/**/*.workerd.test.ts'],
        },
      },
      {
        // The edge Worker inside workerd with wrangler.toml's real bindings (local R2, KV, Durable
        // Objects, Queues). Its fetches to gpu-workers reach a fake worker in Node that speaks the
        // real signed protocol (edge/test/node/fake-gpu-worker.ts); those to Discord, a fake
        // Discord REST API that records them (edge/test/node/fake-discord.ts).
        plugins: [
          cloudflareTest({
            main: './edge/src/index.ts',
            wrangler: { configPath: './wrangler.toml' },
            miniflare: {
              bindings: {
                GPU_SHARED_SECRET: TEST_GPU_SECRET,
                CACHE_KEY_SECRET: TEST_CACHE_KEY_SECRET,
                WEBHOOK_SECRET: TEST_WEBHOOK_SECRET,
                GPU_WORKERS: 'http://gpu-a.gpu.test,http://gpu-b.gpu.test',
                ...FAKE_DISCORD_BINDINGS,
                // The least the edge allows, so progress edits show within a test's few seconds.
                DISCORD_PROGRESS_INTERVAL_MS: 1000,
                // The prompt policy the edge tests meet (edge/test/prompt-policy-routes.test.ts).
                PROMPT_RULES: JSON.stringify(TEST_PROMPT_RULES),
              },
              outboundService: withPromtool(withFakeDiscord(fakeGpuWorker)),
            },
          }),
        ],
        test: {
          name: 'edge',
          include: ['edge/test/**/*.test.ts'],
          globalSetup: ['edge/test/node/global-setup.ts'],
        },
      },
    ],
  },
});
