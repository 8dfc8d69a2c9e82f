// The Zoom out button, clicked as Discord sends the click: the stored image goes to the fake
// gpu-worker as the init image of an outpainting job on a canvas 1.5 times its size, and the
// result comes back as a new message with its own buttons; a zoomed image's Re-roll and Same
// seed redo the zoom; a canvas past the model's maximum, or an image no longer stored, is refused
// to the clicker alone.
import { sha256Hex } from '@latent-edge/shared/crypto/hmac';
import { imageSize } from 'image-size';
import { beforeAll, describe, expect, it } from 'vitest';
import { InteractionResponseType, MessageFlags } from '../src/discord/discord-constants.ts';
import { call, gpuCalls, uniquePrompt } from './support/api.ts';
import {
  buttonInteraction,
  buttonsOf,
  type DiscordCall,
  discordCalls,
  imagineInteraction,
  interact,
  messageFrom,
  newUserId,
  waitForCalls,
} from './support/discord.ts';

const DEFERRED_UPDATE = { type: InteractionResponseType.DeferredMessageUpdate };

function field(call: DiscordCall, name: string): string | undefined {
  return call.body?.embeds?.[0]?.fields?.find((f) => f.name === name)?.value;
}

/** The one image a message shows: its key and bytes, fetched from the edge. */
async function imageOf(message: DiscordCall): Promise<{ key: string; bytes: Uint8Array }> {
  const url = message.body?.embeds?.[0]?.image?.url ?? '';
  const key = /\/i\/([0-9a-f]{64})\.png$/.exec(url)?.[1];
  expect(key, url).toBeDefined();
  const response = await call(new URL(url).pathname);
  expect(response.status).toBe(200);
  return { key: key ?? '', bytes: new Uint8Array(await response.arrayBuffer()) };
}

/** Clicks `label` under `from` as a new user; returns the answer and the interaction's token. */
async function click(from: DiscordCall, label: string) {
  const customId = buttonsOf(from).actions.get(label);
  expect(customId, `a "${label}" button`).toBeDefined();
  const interaction = buttonInteraction(customId ?? '', messageFrom(from), { userId: newUserId() });
  const { response, body } = await interact(interaction);
  expect(response.status).toBe(200);
  return { token: interaction.token, body };
}

/** Clicks `label` and returns the follow-up message the job posted. */
async function clickForMessage(from: DiscordCall, label: string): Promise<DiscordCall> {
  const { token, body } = await click(from, label);
  expect(body).toEqual(DEFERRED_UPDATE);
  const [followUp] = await waitForCalls(token);
  expect(followUp.method).toBe('POST');
  expect(followUp.status).toBe(200);
  expect(followUp.problems).toEqual([]);
  return followUp;
}

const prompt = uniquePrompt('a lighthouse on a cliff');
let original: DiscordCall;
let zoomed: DiscordCall;

beforeAll(async () => {
  const interaction = imagineInteraction({ prompt, seed: 700, steps: 6 }, { userId: newUserId() });
  await interact(interaction);
  [original] = await waitForCalls(interaction.token);
  expect(original.status).toBe(200);
});

describe('Zoom out', () => {
  it('sits in its own row under the image, naming the image in its custom_id', async () => {
    const { key } = await imageOf(original);
    expect(buttonsOf(original).actions.get('Zoom out')).toBe(`zoom:${key}`);
    const rows = original.body?.components ?? [];
    expect(rows.map((row) => ('components' in row ? row.components.length : 0))).toEqual([5, 1]);
  });

  it('outpaints the stored image centred on a 1.5× canvas with the same parameters, as a new message', async () => {
    const source = await imageOf(original);
    zoomed = await clickForMessage(original, 'Zoom out');
    expect(field(zoomed, 'Size')).toBe('96×96');
    expect(field(zoomed, 'Seed')).toBe('700');
    expect(field(zoomed, 'Steps')).toBe('6');
    expect(zoomed.body?.embeds?.[0]?.description).toBe(original.body?.embeds?.[0]?.description);

    const job = (await gpuCalls(prompt)).find((j) => j.outpaint !== undefined);
    expect(job).toMatchObject({
      seeds: [700],
      width: 96,
      height: 96,
      steps: 6,
      init_image_bytes: source.bytes.length,
      init_image_sha256: await sha256Hex(source.bytes),
      outpaint: { left: 16, right: 16, top: 16, bottom: 16, blur: 4, masked_content: 'original' },
    });
    const image = await imageOf(zoomed);
    expect(imageSize(image.bytes)).toMatchObject({ width: 96, height: 96, type: 'png' });
    // Its own buttons, Zoom out included, naming the new image.
    expect(buttonsOf(zoomed).actions.get('Zoom out')).toBe(`zoom:${image.key}`);
  });

  it('Re-roll under a zoomed image zooms the first image out again, with a new seed', async () => {
    const source = await imageOf(original);
    const before = await gpuCalls(prompt);
    const rerolled = await clickForMessage(zoomed, 'Re-roll');
    expect(field(rerolled, 'Size')).toBe('96×96');
    const seed = Number(field(rerolled, 'Seed'));
    expect(seed).not.toBe(700);
    const jobs = await gpuCalls(prompt);
    expect(jobs).toHaveLength(before.length + 1);
    expect(jobs.at(-1)).toMatchObject({
      seeds: [seed],
      width: 96,
      init_image_sha256: await sha256Hex(source.bytes),
      outpaint: { left: 16, right: 16, top: 16, bottom: 16 },
    });
  });

  it('Same seed under a zoomed image shows it again, from the cache, without the gpu-worker', async () => {
    const before = (await gpuCalls(prompt)).length;
    const again = await clickForMessage(zoomed, 'Same seed');
    expect((await imageOf(again)).key).toBe((await imageOf(zoomed)).key);
    expect(await gpuCalls(prompt)).toHaveLength(before);
  });

  it('zooms a zoomed image out again, up to the model’s maximum, then says it would be too large', async () => {
    // tiny-sd: multiples of 32 up to 256. 96 × 1.5 = 144 → 160; 160 × 1.5 = 240 → 256.
    const twice = await clickForMessage(zoomed, 'Zoom out');
    expect(field(twice, 'Size')).toBe('160×160');
    const job = (await gpuCalls(prompt)).find((j) => j.width === 160);
    expect(job?.init_image_sha256).toBe(await sha256Hex((await imageOf(zoomed)).bytes));
    expect(job?.outpaint).toMatchObject({ left: 32, right: 32, top: 32, bottom: 32 });
    const thrice = await clickForMessage(twice, 'Zoom out');
    expect(field(thrice, 'Size')).toBe('256×256');
    expect((await gpuCalls(prompt)).find((j) => j.width === 256)?.outpaint).toMatchObject({
      left: 48,
      right: 48,
      top: 48,
      bottom: 48,
    });

    const before = (await gpuCalls(prompt)).length;
    const { token, body } = await click(thrice, 'Zoom out');
    expect(body).toEqual({
      type: InteractionResponseType.ChannelMessageWithSource,
      data: {
        content:
          '❌ Zoomed out, this image would be 384×384, larger than model "tiny-sd" makes (at most 256×256).',
        flags: MessageFlags.Ephemeral,
        allowed_mentions: { parse: [] },
      },
    });
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(await discordCalls(token)).toEqual([]);
    expect(await gpuCalls(prompt)).toHaveLength(before);
  });

  it('answers a click on an image that is no longer stored to the clicker alone', async () => {
    const gone = buttonInteraction(`zoom:${'0'.repeat(64)}`, messageFrom(original));
    const { body } = await interact(gone);
    expect(body).toMatchObject({
      type: InteractionResponseType.ChannelMessageWithSource,
      data: { content: '❌ this image is no longer stored', flags: MessageFlags.Ephemeral },
    });
    await new Promise((resolve) => setTimeout(resolve, 1000));
    expect(await discordCalls(gone.token)).toEqual([]);
  });
});
