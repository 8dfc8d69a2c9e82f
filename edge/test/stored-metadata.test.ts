// R2 custom metadata holds an image's parameters (the share page and Discord's buttons read them
// back), and R2 caps it: production at 8,192 bytes, Miniflare (these tests, `wrangler dev`) at
// 2,048 characters, counted twice when any is above U+00FF. The prompt budget counts tokens, and
// control characters cost none (the tokenizer drops them) while JSON writes each as six bytes
// (`\u0001`). A valid prompt of them must still be stored, on every path that stores.
import { env } from 'cloudflare:test';
import { beforeAll, describe, expect, it } from 'vitest';
import { call, createApiKey, postJson, uniquePrompt } from './support/api.ts';
import { imagineInteraction, interact, waitForCalls } from './support/discord.ts';

let key: string;
beforeAll(async () => {
  key = (await createApiKey({ rateLimit: { requests: 1000, window_seconds: 60 } })).key;
});

/** A prompt of `chars` characters, nearly all control characters, with one above U+00FF. */
function controlPrompt(text: string, chars: number): string {
  const start = `${uniquePrompt(text)} ☕ `;
  return start + '\u0001\u0007\t\n'.repeat((chars - start.length) / 4).slice(0, chars - start.length);
}

/** The stored object for an /i/ URL, and its serialized parameters. */
async function storedParams(url: string): Promise<{ prompt: string; prompts_shortened?: boolean }> {
  const name = new URL(url).pathname.replace(/^\/i\//, '');
  const object = await env.IMAGES.head(name);
  expect(object).not.toBeNull();
  return JSON.parse(object?.customMetadata?.params ?? '{}');
}

describe('stored parameters of a long control-character prompt', () => {
  it('fit R2 metadata on POST /v1/images, and the share page shows the prompt marked as shortened', async () => {
    const prompt = controlPrompt('a lantern', 4000);
    const negative_prompt = '\u0002'.repeat(3000);
    const response = await postJson('/v1/images', { prompt, negative_prompt, seed: 4 }, key);
    expect(response.status).toBe(200);
    const body = (await response.json()) as { images: { url: string; share_url: string }[] };
    const params = await storedParams(body.images[0].url);
    expect(params.prompts_shortened).toBe(true);
    expect(prompt.startsWith(params.prompt.replace(/\.\.\.$/, ''))).toBe(true);
    const page = await call(new URL(body.images[0].share_url).pathname);
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain(prompt.slice(0, prompt.indexOf('☕') + 1));
    expect(html).toContain('shortened');
  });

  it('fit on the OpenAI route', async () => {
    const prompt = controlPrompt('a kettle', 4000);
    const response = await postJson('/v1/images/generations', { prompt, response_format: 'url' }, key);
    expect(response.status).toBe(200);
    const { data } = (await response.json()) as { data: { url: string }[] };
    expect((await storedParams(data[0].url)).prompts_shortened).toBe(true);
  });

  it('fit on A1111 txt2img, whose infotext keeps the whole prompt', async () => {
    const prompt = controlPrompt('a windmill', 4000);
    const response = await postJson('/sdapi/v1/txt2img', { prompt, seed: 8 }, key);
    expect(response.status).toBe(200);
    const info = JSON.parse(((await response.json()) as { info: string }).info) as { infotexts: string[] };
    expect(info.infotexts[0].startsWith(`${prompt}\n`)).toBe(true);
  });

  it('fit on an async job, which succeeds', async () => {
    const prompt = controlPrompt('a ferry', 4000);
    const accepted = await postJson('/v1/images', { prompt }, key, { Prefer: 'respond-async' });
    expect(accepted.status).toBe(202);
    const { url } = (await accepted.json()) as { url: string };
    let job: { status: string; result?: { images: { url: string }[] } } = { status: 'queued' };
    for (let i = 0; i < 100 && (job.status === 'queued' || job.status === 'running'); i++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      job = await (await call(new URL(url).pathname, { key })).json();
    }
    expect(job.status).toBe('succeeded');
    expect((await storedParams(job.result?.images[0].url ?? '')).prompts_shortened).toBe(true);
  });

  it('fit on Discord /imagine, whose reply carries the image', async () => {
    const interaction = imagineInteraction({
      prompt: controlPrompt('a lighthouse', 1000),
      negative: '\u0003'.repeat(500),
    });
    const { response } = await interact(interaction);
    expect(response.status).toBe(200);
    const [edit] = await waitForCalls(interaction.token);
    const imageUrl = edit.body?.embeds?.[0]?.image?.url ?? '';
    expect(imageUrl).toMatch(/\/i\/[0-9a-f]{64}\.png$/);
    expect((await storedParams(imageUrl)).prompts_shortened).toBe(true);
  });

  it('keep a short prompt whole, unmarked', async () => {
    const prompt = uniquePrompt('a short one\twith a tab ☕');
    const response = await postJson('/v1/images', { prompt }, key);
    const body = (await response.json()) as { images: { url: string }[] };
    const params = await storedParams(body.images[0].url);
    expect(params).toMatchObject({ prompt });
    expect(params.prompts_shortened).toBeUndefined();
  });
});
