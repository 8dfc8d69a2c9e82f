// A request becomes a prepared generation; prompts tokenized lately are reused, frozen, and a
// prompt's errors still name the field it came from.
import { env } from 'cloudflare:test';
import { GenerationRequest } from '@latent-edge/shared/protocol/generation-request';
import { describe, expect, it } from 'vitest';
import { edgeConfig } from '../src/config/edge-config.ts';
import { prepareGeneration } from '../src/generation/prepare-generation.ts';
import { ApiError } from '../src/http/api-error.ts';
import { uniquePrompt } from './support/api.ts';

const prepare = (request: Record<string, unknown>) =>
  prepareGeneration(edgeConfig(env), GenerationRequest.parse(request));

describe('prepared prompts', () => {
  it('tokenizes a prompt once and hands every later request the same frozen chunks', async () => {
    const prompt = uniquePrompt('a red circle');
    const first = await prepare({ prompt, seed: 1 });
    const second = await prepare({ prompt: 'a blue square', negative_prompt: prompt, seed: 2 });
    expect(second.generation.negativePrompt).toBe(first.generation.prompt);
    expect(second.generation.negativePrompt.chunks[0].ids).toEqual(first.generation.prompt.chunks[0].ids);
    expect(Object.isFrozen(first.generation.prompt.chunks[0].ids)).toBe(true);
    expect(() => (first.generation.prompt.chunks[0].weights as number[]).push(2)).toThrow(TypeError);
    // Same prompt and seed: the same image key, whether the tokens were remembered or not.
    expect((await prepare({ prompt, seed: 1 })).generation.images).toEqual(first.generation.images);
  });

  it('names the field of a prompt it refuses, each time', async () => {
    const tooLong = Array.from({ length: 300 }, () => 'red').join(' ');
    for (const field of ['prompt', 'negative_prompt', 'prompt']) {
      const request =
        field === 'prompt' ? { prompt: tooLong } : { prompt: 'a dot', negative_prompt: tooLong };
      const error = await prepare(request).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ApiError);
      expect((error as ApiError).status).toBe(400);
      expect((error as ApiError).options.field).toBe(field);
      expect((error as ApiError).message).toMatch(new RegExp(`^${field} is too long`));
    }
  });
});
