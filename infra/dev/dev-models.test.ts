// npm start's gpu-worker serves exactly the models wrangler.toml declares to the edge: the same
// ids from the same folders, so every model the playground and /imagine offer can be drawn.
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { experimental_readRawConfig } from 'wrangler';
import { DEV_MODELS } from './gpu-worker.ts';

describe('DEV_MODELS', () => {
  it("is wrangler.toml's MODELS as id=source pairs, in order", () => {
    const { rawConfig } = experimental_readRawConfig({
      config: resolve(import.meta.dirname, '../../wrangler.toml'),
    });
    const models = (rawConfig.vars as { MODELS: { id: string; source: string }[] }).MODELS;
    expect(models.length).toBeGreaterThan(0);
    expect(DEV_MODELS).toBe(models.map((m) => `${m.id}=${m.source}`).join(','));
  });
});
