// LoRAs through the edge (the bundled model's trained LoRA, listed at build time from its
// loras/ folder): listed per model, asked for by `<lora:name:weight>` or the `loras` field (the
// same set either way: one cache key), taken out of the text before tokenizing, sent to the
// gpu-worker with the file's hash, part of the image cache key, and of the embedding cache key
// only when the LoRA changes the text encoder; unknown names and misplaced tags refused by name.
import { SELF } from 'cloudflare:test';
import OpenAI from 'openai';
import { beforeAll, describe, expect, it } from 'vitest';
import { InteractionResponseType, MessageFlags } from '../src/discord/discord-constants.ts';
import { A1111Loras } from '../src/openapi/compat-response-schemas.ts';
import { ModelList, TokenizeResponse } from '../src/openapi/response-schemas.ts';
import {
  call,
  createApiKey,
  type ErrorBody,
  gpuCalls,
  ORIGIN,
  postJson,
  uniquePrompt,
} from './support/api.ts';
import { imagineInteraction, interact, waitForCalls } from './support/discord.ts';

let key: string;
let lora: { name: string; sha256: string; text_encoder: boolean };
beforeAll(async () => {
  key = (await createApiKey({ rateLimit: { requests: 1000, window_seconds: 60 } })).key;
  const models = ModelList.parse(await (await call('/v1/models', { key })).json());
  const tiny = models.data.find((m) => m.id === 'tiny-sd');
  if (!tiny?.loras[0])
    throw new Error('tiny-sd lists no LoRA: gpu-worker/models/tiny-sd/loras/ should hold one');
  lora = tiny.loras[0];
});

interface ImagesBody {
  images: { seed: number; url: string }[];
  tokens: Record<'prompt' | 'negative_prompt', { count: number }>;
}

async function generate(body: Record<string, unknown>) {
  const response = await postJson('/v1/images', { model: 'tiny-sd', ...body }, key);
  return {
    status: response.status,
    cache: response.headers.get('X-Cache'),
    body: (await response.json()) as ImagesBody & ErrorBody,
  };
}

describe('LoRAs at the edge', () => {
  it('lists each model’s LoRAs with their hashes (native and A1111)', async () => {
    expect(lora.sha256).toMatch(/^[0-9a-f]{64}$/);
    const a1111 = A1111Loras.parse(await (await call('/sdapi/v1/loras', { key })).json());
    expect(a1111).toContainEqual({
      name: lora.name,
      alias: lora.name,
      path: `loras/${lora.name}.safetensors`,
      metadata: { sha256: lora.sha256, model: 'tiny-sd' },
    });
    // A model without LoRAs lists none.
    expect(await (await call('/sdapi/v1/loras?model=tiny-sdxl', { key })).json()).toEqual([]);
    expect((await call('/sdapi/v1/loras?model=nope', { key })).status).toBe(400);
  });

  it('takes a <lora:…> tag out of the text (no tokens) and sends the LoRA with its hash', async () => {
    const text = uniquePrompt('a red circle');
    const tagged = `${text} <lora:${lora.name}:0.8>`;
    const withTag = await generate({ prompt: tagged, seed: 4 });
    expect(withTag.status).toBe(200);
    const plain = await generate({ prompt: text, seed: 4 });
    expect(withTag.body.tokens.prompt.count).toBe(plain.body.tokens.prompt.count);
    expect(withTag.body.images[0].url).not.toBe(plain.body.images[0].url);
    const [job] = await gpuCalls(tagged);
    expect(job.loras).toEqual([{ name: lora.name, sha256: lora.sha256, weight: 0.8 }]);
    const [base] = await gpuCalls(text);
    expect(base.loras).toEqual([]);

    const tokens = TokenizeResponse.parse(
      await (await postJson('/v1/tokenize', { prompt: tagged }, key)).json(),
    );
    expect(tokens.token_count).toBe(plain.body.tokens.prompt.count);
    expect(tokens.loras).toEqual([{ name: lora.name, weight: 0.8 }]);
  });

  it('is one set whether asked by tag or field, weights of a name adding up; weight 0 is the base model', async () => {
    const text = uniquePrompt('a blue square');
    const byTag = await generate({
      prompt: `${text}<lora:${lora.name}:0.5><lora:${lora.name}:0.25>`,
      seed: 1,
    });
    expect(byTag.cache).toBe('MISS');
    const byField = await generate({ prompt: text, loras: [{ name: lora.name, weight: 0.75 }], seed: 1 });
    expect(byField.cache).toBe('HIT');
    expect(byField.body.images[0].url).toBe(byTag.body.images[0].url);

    const base = await generate({ prompt: text, seed: 2 });
    const zero = await generate({ prompt: `${text}<lora:${lora.name}:0>`, seed: 2 });
    expect(zero.cache).toBe('HIT');
    expect(zero.body.images[0].url).toBe(base.body.images[0].url);
  });

  it('keys cached embeddings by the LoRA only when it changes the text encoder', async () => {
    const text = uniquePrompt('a green star');
    expect((await generate({ prompt: text, seed: 1 })).status).toBe(200);
    const prompt = `${text} <lora:${lora.name}:1>`;
    expect((await generate({ prompt, seed: 2 })).status).toBe(200);
    expect((await generate({ prompt, seed: 3 })).status).toBe(200);
    const [first, second] = await gpuCalls(prompt);
    // A text-encoder LoRA cannot reuse the base model's embedding; a UNet-only one can.
    expect(first.prompt_embedding).toBe(!lora.text_encoder);
    expect(second.prompt_embedding).toBe(true);
  });

  it.each([
    [
      { prompt: 'a cat <lora:nope:1>' },
      'unknown_lora',
      'prompt',
      /<lora:nope:1> is not a LoRA of model "tiny-sd"; it has /,
    ],
    [{ prompt: 'a cat', loras: [{ name: 'nope' }] }, 'unknown_lora', 'loras[0].name', /"nope" is not a LoRA/],
    [
      { prompt: 'a cat', negative_prompt: 'x <lora:nope:1>' },
      'invalid_request',
      'negative_prompt',
      /belong in the prompt/,
    ],
    [{ prompt: 'a cat <lora:x:1:2>' }, 'invalid_request', 'prompt', /separate text-encoder and UNet weights/],
    [{ prompt: 'a cat <hypernet:x:1>' }, 'invalid_request', 'prompt', /"hypernet" network/],
    [{ prompt: 'a cat', loras: [{ name: 'x', weight: 5 }] }, 'invalid_request', 'loras[0].weight', /4/],
  ])('refuses %j with a 400 naming the field', async (body, code, field, message) => {
    const response = await generate(body);
    expect(response.status).toBe(400);
    expect(response.body.error).toMatchObject({ code, field });
    expect(response.body.error.message).toMatch(message);
  });

  it('works through the OpenAI and A1111 routes, and A1111’s infotext names the LoRA’s hash', async () => {
    const prompt = `${uniquePrompt('a yellow diamond')} <lora:${lora.name}:1>`;
    const openai = new OpenAI({ apiKey: key, baseURL: `${ORIGIN}/v1`, fetch: SELF.fetch.bind(SELF) });
    const result = await openai.images.generate({ prompt, model: 'tiny-sd', size: '64x64' }).catch((e) => e);
    expect(result).not.toBeInstanceOf(Error);
    const [job] = await gpuCalls(prompt);
    expect(job.loras).toEqual([{ name: lora.name, sha256: lora.sha256, weight: 1 }]);

    const a1111 = await postJson('/sdapi/v1/txt2img', { prompt, seed: 5 }, key);
    expect(a1111.status).toBe(200);
    const info = JSON.parse(((await a1111.json()) as { info: string }).info);
    expect(info.infotexts[0]).toContain(`Lora hashes: "${lora.name}: ${lora.sha256.slice(0, 12)}"`);
  });
});

describe('LoRAs in Discord', () => {
  it('draws /imagine with a <lora:…> prompt, and answers an unknown one to the user alone', async () => {
    const prompt = `${uniquePrompt('a lighthouse')} <lora:${lora.name}:0.6>`;
    const interaction = imagineInteraction({ prompt, seed: 9 });
    const { body } = await interact(interaction);
    expect(body).toEqual({ type: InteractionResponseType.DeferredChannelMessageWithSource });
    const [edit] = await waitForCalls(interaction.token);
    expect(edit.status).toBe(200);
    // Discord markdown is escaped in the embed (\- for -).
    expect(edit.body?.embeds?.[0]?.description?.replaceAll('\\', '')).toBe(prompt);
    const [job] = await gpuCalls(prompt);
    expect(job.loras).toEqual([{ name: lora.name, sha256: lora.sha256, weight: 0.6 }]);

    const unknown = imagineInteraction({ prompt: `${uniquePrompt('a boat')} <lora:nope:1>` });
    const refused = (await interact(unknown)).body as { data: { content: string; flags: number } };
    expect(refused.data.content).toMatch(/^❌ prompt: <lora:nope:1> is not a LoRA of model "tiny-sd"/);
    expect(refused.data.flags).toBe(MessageFlags.Ephemeral);
  });
});
