// The buttons under an image, clicked as Discord sends the clicks (MESSAGE_COMPONENT interactions
// carrying the message and the button's custom_id): each is acknowledged with a deferred update
// and carried out through the queue, and the fake Discord API records what each one led to.
import type { APIInteractionResponseCallbackData } from 'discord-api-types/v10';
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
  TEST_DISCORD_APPLICATION_ID,
  waitForCalls,
} from './support/discord.ts';

const DEFERRED_UPDATE = { type: InteractionResponseType.DeferredMessageUpdate };

function seedOf(call: DiscordCall): string | undefined {
  return call.body?.embeds?.[0]?.fields?.find((f) => f.name === 'Seed' || f.name === 'Seeds')?.value;
}

function imageUrls(call: DiscordCall): string[] {
  return (call.body?.embeds ?? []).map((embed) => embed.image?.url ?? '');
}

/** Clicks the button labelled `label` under the message `from` left; returns the answer. */
async function click(from: DiscordCall, label: string, userId: string) {
  const customId = buttonsOf(from).actions.get(label);
  expect(customId, `a "${label}" button`).toBeDefined();
  const interaction = buttonInteraction(customId ?? '', messageFrom(from), { userId });
  const { response, body } = await interact(interaction);
  expect(response.status).toBe(200);
  return { interaction, body };
}

const owner = newUserId();
const prompt = uniquePrompt('a paper boat');
let original: DiscordCall;

beforeAll(async () => {
  const interaction = imagineInteraction({ prompt, seed: 500 }, { userId: owner });
  await interact(interaction);
  [original] = await waitForCalls(interaction.token);
  expect(original.status).toBe(200);
});

describe('buttons', () => {
  it('Re-roll makes the same request with a new seed and posts it as a new message', async () => {
    const clicker = newUserId();
    const { interaction, body } = await click(original, 'Re-roll', clicker);
    expect(body).toEqual(DEFERRED_UPDATE);
    const [followUp] = await waitForCalls(interaction.token);
    expect(followUp.method).toBe('POST');
    expect(followUp.path).toBe(`/api/v10/webhooks/${TEST_DISCORD_APPLICATION_ID}/${interaction.token}`);
    expect(followUp.problems).toEqual([]);
    expect(followUp.body?.flags).toBeUndefined();
    expect(seedOf(followUp)).not.toBe('500');
    expect(followUp.body?.embeds?.[0]?.description).toBe(original.body?.embeds?.[0]?.description);
    // The new message is the clicker's: its Delete button obeys them.
    expect(buttonsOf(followUp).actions.get('Delete')).toBe(`delete:${clicker}`);

    const jobs = await gpuCalls(prompt);
    expect(jobs.map((j) => j.seeds)).toEqual([[500], [Number(seedOf(followUp))]]);
    const image = await call(new URL(imageUrls(followUp)[0]).pathname);
    expect(image.status).toBe(200);
    expect(image.headers.get('Content-Type')).toBe('image/png');
  });

  it('Variations makes four new consecutive seeds in one job, shown as one gallery', async () => {
    const { interaction, body } = await click(original, 'Variations', newUserId());
    expect(body).toEqual(DEFERRED_UPDATE);
    const [followUp] = await waitForCalls(interaction.token);
    expect(followUp.problems).toEqual([]);
    const seeds = (seedOf(followUp) ?? '').split(', ').map(Number);
    expect(seeds).toHaveLength(4);
    expect(seeds).toEqual([seeds[0], seeds[0] + 1, seeds[0] + 2, seeds[0] + 3]);
    const job = (await gpuCalls(prompt)).find((j) => j.seeds.length === 4);
    expect(job?.seeds).toEqual(seeds);

    const urls = imageUrls(followUp);
    expect(new Set(urls).size).toBe(4);
    // One embed URL for all four: Discord shows them as one gallery.
    expect(new Set(followUp.body?.embeds?.map((e) => e.url)).size).toBe(1);
    for (const url of urls) expect((await call(new URL(url).pathname)).status).toBe(200);
    const { actions, links } = buttonsOf(followUp);
    for (let i = 0; i < 4; i++) {
      const key = /\/i\/([0-9a-f]{64})\.png$/.exec(urls[i])?.[1];
      expect(actions.get(`Same seed #${i + 1}`)).toBe(`seed:${key}`);
      expect(links.get(`Share #${i + 1}`)).toBe(`https://edge.test/p/${key}`);
      expect(actions.get(`Zoom out #${i + 1}`)).toBe(`zoom:${key}`);
    }
  });

  it('Same seed makes the same image again, from the cache, without the gpu-worker', async () => {
    const before = (await gpuCalls(prompt)).length;
    const { interaction, body } = await click(original, 'Same seed', newUserId());
    expect(body).toEqual(DEFERRED_UPDATE);
    const [followUp] = await waitForCalls(interaction.token);
    expect(seedOf(followUp)).toBe('500');
    expect(imageUrls(followUp)).toEqual(imageUrls(original));
    expect(await gpuCalls(prompt)).toHaveLength(before);
  });

  it('Delete is refused, to them alone, for anyone but the user who asked', async () => {
    const { interaction, body } = await click(original, 'Delete', newUserId());
    const answer = body as { type: number; data: APIInteractionResponseCallbackData };
    expect(answer.type).toBe(InteractionResponseType.ChannelMessageWithSource);
    expect(answer.data.flags).toBe(MessageFlags.Ephemeral);
    expect(answer.data.content).toBe(`Only <@${owner}> can delete this image.`);
    expect(answer.data.allowed_mentions).toEqual({ parse: [] });
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(await discordCalls(interaction.token)).toEqual([]);
  });

  it('Delete removes the message for the user who asked', async () => {
    const { interaction, body } = await click(original, 'Delete', owner);
    expect(body).toEqual(DEFERRED_UPDATE);
    const [removal] = await waitForCalls(interaction.token);
    expect(removal.method).toBe('DELETE');
    expect(removal.path).toBe(
      `/api/v10/webhooks/${TEST_DISCORD_APPLICATION_ID}/${interaction.token}/messages/@original`,
    );
    expect(removal.status).toBe(204);
    expect(removal.problems).toEqual([]);
  });

  it('answers a click on an image that is no longer stored, or a button not ours, to the clicker alone', async () => {
    const gone = buttonInteraction(`reroll:${'0'.repeat(64)}`, messageFrom(original));
    const { body } = await interact(gone);
    expect(body).toMatchObject({
      type: InteractionResponseType.ChannelMessageWithSource,
      data: { content: '❌ this image is no longer stored', flags: MessageFlags.Ephemeral },
    });
    const strange = await interact(buttonInteraction('launch:rockets', messageFrom(original)));
    expect(strange.body).toMatchObject({ data: { content: '❌ this button is not one of ours' } });
  });

  it('counts button images toward the rate limit: Variations takes four', async () => {
    const clicker = newUserId();
    // DISCORD_USER_RATE_LIMIT in wrangler.toml: 10 images per 300 s.
    for (let i = 0; i < 2; i++)
      expect((await click(original, 'Variations', clicker)).body).toEqual(DEFERRED_UPDATE);
    const third = await click(original, 'Variations', clicker);
    expect(third.body).toMatchObject({
      data: { content: expect.stringMatching(/^❌ you can make 10 images/) },
    });
    expect((await click(original, 'Re-roll', clicker)).body).toEqual(DEFERRED_UPDATE);
  });
});
