// Discord and the safety policy, through the signed interactions route, the real local Queue and
// the fake gpu-worker: a blocked prompt is refused at once, to the user alone, naming the rule,
// and starts no job; a server's own rules add to PROMPT_RULES; images are filtered (the job's
// safety_check) everywhere but in a channel marked NSFW of a server that allows it, and those
// unfiltered images have cache keys of their own.
import type { APIInteractionResponseCallbackData } from 'discord-api-types/v10';
import { describe, expect, it } from 'vitest';
import { InteractionResponseType, MessageFlags } from '../src/discord/discord-constants.ts';
import { SERVER_BLOCKED_TERM, SERVER_RULE_NAME } from './node/fake-discord-ids.ts';
import { TEST_BLOCKED_TERM, TEST_RULE_NAME } from './node/test-prompt-rules.ts';
import { gpuCalls, uniquePrompt } from './support/api.ts';
import {
  buttonInteraction,
  buttonsOf,
  type DiscordCall,
  discordCalls,
  type InteractionOptions,
  imagineInteraction,
  interact,
  isProgressEdit,
  messageFrom,
  TEST_GUILDS,
  waitForDelivery,
} from './support/discord.ts';

function ephemeralText(body: unknown): string {
  const answer = body as { type: number; data: APIInteractionResponseCallbackData };
  expect(answer.type).toBe(InteractionResponseType.ChannelMessageWithSource);
  expect(answer.data.flags).toBe(MessageFlags.Ephemeral);
  return answer.data.content ?? '';
}

/** /imagine of `prompt` from `from`, deferred; the job the fake gpu-worker got and the reply's edit. */
async function imagineJob(prompt: string, from: InteractionOptions) {
  const interaction = imagineInteraction({ prompt, seed: 77 }, from);
  const { body } = await interact(interaction);
  expect(body).toEqual({ type: InteractionResponseType.DeferredChannelMessageWithSource });
  const calls = await waitForDelivery(interaction.token);
  const edit = calls.find((c) => !isProgressEdit(c) && c.status !== 429) as DiscordCall;
  expect(edit.status).toBe(200);
  const jobs = await gpuCalls(prompt);
  return { edit, job: jobs[jobs.length - 1] };
}

const imageUrl = (edit: DiscordCall) => edit.body?.embeds?.[0]?.image?.url ?? '';

describe('/imagine and the prompt policy', () => {
  it('refuses a blocked prompt at once, to the user alone, naming the rule, and starts no job', async () => {
    const prompt = uniquePrompt(`a ${[...TEST_BLOCKED_TERM].join(' ')} statue`);
    const interaction = imagineInteraction({ prompt });
    const { body } = await interact(interaction);
    expect(ephemeralText(body)).toBe(`❌ prompt: refused by the prompt policy (rule "${TEST_RULE_NAME}")`);
    // Nothing ran: no job at the gpu-worker, no call to Discord for this interaction.
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(await gpuCalls(prompt)).toEqual([]);
    expect(await discordCalls(interaction.token)).toEqual([]);
  });

  it('names the negative option when that is what matched', async () => {
    const interaction = imagineInteraction({
      prompt: uniquePrompt('a calm sea'),
      negative: TEST_BLOCKED_TERM,
    });
    const { body } = await interact(interaction);
    expect(ephemeralText(body)).toBe(`❌ negative: refused by the prompt policy (rule "${TEST_RULE_NAME}")`);
  });

  it("applies a server's own rules in that server only", async () => {
    const prompt = uniquePrompt(`a ${SERVER_BLOCKED_TERM} on a plate`);
    const refused = await interact(imagineInteraction({ prompt }, { guildId: TEST_GUILDS.nsfwAllowed }));
    expect(ephemeralText(refused.body)).toBe(
      `❌ prompt: refused by the prompt policy (rule "${SERVER_RULE_NAME}")`,
    );
    expect(await gpuCalls(prompt)).toEqual([]);
    const { job } = await imagineJob(prompt, { guildId: TEST_GUILDS.plain });
    expect(job).toBeDefined();
  });
});

describe('/imagine and the image safety checker', () => {
  it('filters in a channel not marked NSFW, even in a server that allows unfiltered NSFW channels', async () => {
    const prompt = uniquePrompt('a moonlit garden');
    const { job } = await imagineJob(prompt, { guildId: TEST_GUILDS.nsfwAllowed, nsfw: false });
    expect(job.safety_check).toBe(true);
  });

  it('filters in an NSFW channel of a server whose settings do not allow it', async () => {
    const prompt = uniquePrompt('a moonlit garden');
    const { job } = await imagineJob(prompt, { guildId: TEST_GUILDS.plain, nsfw: true });
    expect(job.safety_check).toBe(true);
  });

  it('sends safety_check false only in an NSFW channel of a server that allows it, under its own cache key', async () => {
    const prompt = uniquePrompt('a moonlit garden');
    const filtered = await imagineJob(prompt, { guildId: TEST_GUILDS.nsfwAllowed });
    const unfiltered = await imagineJob(prompt, { guildId: TEST_GUILDS.nsfwAllowed, nsfw: true });
    expect(filtered.job.safety_check).toBe(true);
    expect(unfiltered.job.safety_check).toBe(false);
    // Same prompt, seed and settings: the unfiltered image is made, not answered from the filtered one's key.
    expect(await gpuCalls(prompt)).toHaveLength(2);
    expect(imageUrl(unfiltered.edit)).toMatch(/\/i\/[0-9a-f]{64}\.png$/);
    expect(imageUrl(unfiltered.edit)).not.toBe(imageUrl(filtered.edit));
    // And again unfiltered: the cache answers, the worker is not asked.
    const again = await imagineJob(prompt, { guildId: TEST_GUILDS.nsfwAllowed, nsfw: true });
    expect(imageUrl(again.edit)).toBe(imageUrl(unfiltered.edit));
    expect(await gpuCalls(prompt)).toHaveLength(2);
  });

  it("a button click follows the clicking channel's policy", async () => {
    const prompt = uniquePrompt('a lantern festival');
    const { edit } = await imagineJob(prompt, { guildId: TEST_GUILDS.nsfwAllowed, nsfw: true });
    const customId = buttonsOf(edit).actions.get('Re-roll') ?? '';
    for (const nsfw of [true, false]) {
      const click = buttonInteraction(customId, messageFrom(edit), {
        guildId: TEST_GUILDS.nsfwAllowed,
        nsfw,
      });
      await interact(click);
      await waitForDelivery(click.token);
      const jobs = await gpuCalls(prompt);
      expect(jobs[jobs.length - 1].safety_check).toBe(!nsfw);
    }
  });
});
