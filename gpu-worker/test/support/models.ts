// The project's own small models for tests: the bundled one and the export-variant fixtures.
import { resolve } from 'node:path';
import { type DiffusionModel, loadDiffusionModel } from '../../src/model/diffusion-model.ts';
import type { GenerateRequest } from '../../src/pipeline/generate.ts';
import { tokenizePrompt } from '../../src/pipeline/tokenize-prompt.ts';

export const BUNDLED_MODEL = resolve(import.meta.dirname, '../../models/tiny-sd');
export const FIXTURES = resolve(import.meta.dirname, '../fixtures/models');
export const FIXTURE_VARIANTS = [
  'int64',
  'scalar-timestep',
  'fp16',
  'lcm',
  'sd2-pad',
  'external-data',
  'sd-turbo',
] as const;

const loaded = new Map<string, Promise<DiffusionModel>>();

/** Loads a model once per test file (sessions are reusable and stateless). */
export function model(dir: string): Promise<DiffusionModel> {
  let found = loaded.get(dir);
  if (!found) {
    found = loadDiffusionModel(dir, { providers: ['cpu'], intraOpThreads: 1 });
    loaded.set(dir, found);
  }
  return found;
}

export function request(
  m: DiffusionModel,
  overrides: Partial<GenerateRequest> & { text?: string; negative?: string } = {},
): GenerateRequest {
  const { text = 'a red circle', negative = '', ...rest } = overrides;
  return {
    prompt: tokenizePrompt(m, text),
    negativePrompt: tokenizePrompt(m, negative),
    width: 64,
    height: 64,
    steps: 4,
    guidanceScale: 7.5,
    guidanceRescale: 0,
    scheduler: 'euler',
    seeds: [1],
    outputFormat: 'png',
    promptText: text,
    negativePromptText: negative,
    ...rest,
  };
}
