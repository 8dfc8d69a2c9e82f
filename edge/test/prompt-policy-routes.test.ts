// The prompt policy through every HTTP route, inside workerd with the edge tests' PROMPT_RULES
// (edge/test/node/test-prompt-rules.ts): a blocked prompt is refused with 400 `prompt_blocked` and
// the rule's name in each route's own error shape (native, the official OpenAI SDK, A1111, ComfyUI's
// node errors), and nothing reaches a gpu-worker; an allowed prompt goes through, filtered.
import { SELF } from 'cloudflare:test';
import OpenAI from 'openai';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  TEST_BLOCKED_TERM,
  TEST_PATTERN_EXAMPLE,
  TEST_PATTERN_RULE_NAME,
  TEST_RULE_NAME,
} from './node/test-prompt-rules.ts';
import {
  call,
  createApiKey,
  type ErrorBody,
  gpuCalls,
  ORIGIN,
  postJson,
  uniquePrompt,
} from './support/api.ts';
import { txt2img } from './support/comfy-workflow.ts';

let key: string;
beforeAll(async () => {
  key = (await createApiKey({ rateLimit: { requests: 1000, window_seconds: 60 } })).key;
});

/** A prompt no other test sends, with the blocked term disguised (upper case, zero-width spaces). */
const blockedPrompt = () =>
  uniquePrompt(`a painting of a ${[...TEST_BLOCKED_TERM].join('\u200b').toUpperCase()}`);

async function refusedWith(response: Response): Promise<ErrorBody> {
  expect(response.status).toBe(400);
  expect(response.headers.get('Content-Type')).toMatch(/^application\/json/);
  return response.json();
}

describe('the prompt policy on the native API', () => {
  it('refuses a blocked prompt with 400 prompt_blocked naming the rule, and runs nothing', async () => {
    const prompt = blockedPrompt();
    const body = await refusedWith(await postJson('/v1/images', { prompt, seed: 1 }, key));
    expect(body.error).toEqual({
      code: 'prompt_blocked',
      message: `prompt: refused by the prompt policy (rule "${TEST_RULE_NAME}")`,
      field: 'prompt',
      rule: TEST_RULE_NAME,
    });
    expect(await gpuCalls(prompt)).toEqual([]);
  });

  it('checks the negative prompt too, and patterns', async () => {
    const prompt = uniquePrompt('a quiet harbour');
    const body = await refusedWith(
      await postJson('/v1/images', { prompt, negative_prompt: `a ${TEST_PATTERN_EXAMPLE}` }, key),
    );
    expect(body.error).toMatchObject({
      code: 'prompt_blocked',
      field: 'negative_prompt',
      rule: TEST_PATTERN_RULE_NAME,
    });
    expect(await gpuCalls(prompt)).toEqual([]);
  });

  it('refuses an asynchronous job before it is queued', async () => {
    const prompt = blockedPrompt();
    const body = await refusedWith(
      await postJson('/v1/images', { prompt }, key, { Prefer: 'respond-async' }),
    );
    expect(body.error.rule).toBe(TEST_RULE_NAME);
    expect(await gpuCalls(prompt)).toEqual([]);
  });

  it('lets an allowed prompt through, with the image safety checker on', async () => {
    const prompt = uniquePrompt('a forbidden city at night');
    const response = await postJson('/v1/images', { prompt, seed: 3 }, key);
    expect(response.status).toBe(200);
    const [job] = await gpuCalls(prompt);
    expect(job.safety_check).toBe(true);
  });
});

describe('the prompt policy on the compatible APIs', () => {
  it('surfaces as an OpenAI SDK BadRequestError carrying the rule', async () => {
    const client = new OpenAI({
      apiKey: key,
      baseURL: `${ORIGIN}/v1`,
      fetch: (input, init) => SELF.fetch(input as string, init as RequestInit),
      maxRetries: 0,
    });
    const prompt = blockedPrompt();
    const error = await client.images.generate({ prompt, size: '64x64' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.BadRequestError);
    const apiError = error as InstanceType<typeof OpenAI.BadRequestError>;
    expect(apiError.status).toBe(400);
    expect(apiError.code).toBe('prompt_blocked');
    expect((apiError.error as { rule?: string }).rule).toBe(TEST_RULE_NAME);
    expect(apiError.message).toContain(TEST_RULE_NAME);
    expect(await gpuCalls(prompt)).toEqual([]);
  });

  it('refuses A1111 txt2img with the rule', async () => {
    const prompt = blockedPrompt();
    const body = await refusedWith(await postJson('/sdapi/v1/txt2img', { prompt, steps: 4 }, key));
    expect(body.error).toMatchObject({ code: 'prompt_blocked', field: 'prompt', rule: TEST_RULE_NAME });
    expect(await gpuCalls(prompt)).toEqual([]);
  });

  it("refuses a ComfyUI workflow with a node error on the prompt's text node", async () => {
    const prompt = blockedPrompt();
    const workflow = txt2img(prompt);
    const response = await call('/prompt', {
      method: 'POST',
      key,
      body: JSON.stringify({ prompt: workflow, client_id: 'policy-test' }),
    });
    expect(response.status).toBe(400);
    const body = (await response.json()) as {
      error: { type: string; message: string };
      node_errors: Record<
        string,
        { errors: { type: string; message: string; extra_info: Record<string, unknown> }[] }
      >;
    };
    expect(body.error.type).toBe('prompt_outputs_failed_validation');
    expect(Object.keys(body.node_errors)).toEqual(['6']);
    expect(body.node_errors['6'].errors[0]).toEqual({
      type: 'prompt_blocked',
      message: `text: refused by the prompt policy (rule "${TEST_RULE_NAME}")`,
      details: '',
      extra_info: { input_name: 'text', rule: TEST_RULE_NAME },
    });
    expect(await gpuCalls(prompt)).toEqual([]);
  });
});
