// /imagine end to end inside workerd: the signed interaction is deferred within the request, the
// job runs through the real local Queue against the fake gpu-worker, and the fake Discord API
// records the edit of the reply, whose image URL the edge then serves. Refusals are ephemeral
// and queue nothing; rate limits are exact; a job that would outlive the token does not run.
import type { APIInteractionResponseCallbackData } from 'discord-api-types/v10';
import { describe, expect, it } from 'vitest';
import { InteractionResponseType, MessageFlags } from '../src/discord/discord-constants.ts';
import { SMALL_SERVER_LIMIT, STRICT_MAX_STEPS, STRICT_NEGATIVE_PROMPT } from './node/fake-discord-ids.ts';
import { call, gpuCalls, uniquePrompt } from './support/api.ts';
import {
  buttonsOf,
  type DiscordCall,
  discordCalls,
  imagineInteraction,
  interact,
  newUserId,
  snowflake,
  TEST_DISCORD_APPLICATION_ID,
  TEST_GUILDS,
  waitForCalls,
} from './support/discord.ts';

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

function field(edit: DiscordCall, name: string): string | undefined {
  return edit.body?.embeds?.[0]?.fields?.find((f) => f.name === name)?.value;
}

/** Sends /imagine, expects the deferred answer, and returns the edit of the reply. */
async function imagineAndWait(...args: Parameters<typeof imagineInteraction>) {
  const interaction = imagineInteraction(...args);
  const { response, body } = await interact(interaction);
  expect(response.status).toBe(200);
  expect(body).toEqual({ type: InteractionResponseType.DeferredChannelMessageWithSource });
  const [edit] = await waitForCalls(interaction.token);
  return { interaction, edit };
}

function ephemeralText(body: unknown): string {
  const answer = body as { type: number; data: APIInteractionResponseCallbackData };
  expect(answer.type).toBe(InteractionResponseType.ChannelMessageWithSource);
  expect(answer.data.flags).toBe(MessageFlags.Ephemeral);
  return answer.data.content ?? '';
}

describe('/imagine', () => {
  it('defers, runs the job through the queue, and edits the reply with an image the edge serves', async () => {
    const prompt = uniquePrompt('a lighthouse at dusk');
    const userId = newUserId();
    const { interaction, edit } = await imagineAndWait({ prompt, seed: 1234 }, { userId });

    // The call Discord would get: PATCH @original of this interaction, no credentials but the token.
    expect(edit.method).toBe('PATCH');
    expect(edit.path).toBe(
      `/api/v10/webhooks/${TEST_DISCORD_APPLICATION_ID}/${interaction.token}/messages/@original`,
    );
    expect(edit.problems).toEqual([]);
    expect(edit.status).toBe(200);
    expect(edit.headers.authorization).toBeUndefined();
    expect(edit.headers['user-agent']).toMatch(/^DiscordBot \(https:\/\/edge\.test, \d+\.\d+\.\d+\)$/);

    // The embed: our permanent image URL, the prompt and the parameters.
    const embed = edit.body?.embeds?.[0];
    const imageUrl = embed?.image?.url ?? '';
    expect(imageUrl).toMatch(/^https:\/\/edge\.test\/i\/[0-9a-f]{64}\.png$/);
    expect(embed?.description).toBe(prompt);
    expect(field(edit, 'Seed')).toBe('1234');
    expect(field(edit, 'Size')).toBe('64×64');
    expect(field(edit, 'Steps')).toBe('20');
    expect(field(edit, 'Scheduler')).toBe('ddim');
    expect(field(edit, 'Guidance')).toBe('7.5');
    expect(edit.body?.content).toBe(`<@${userId}>`);
    expect(edit.body?.allowed_mentions).toEqual({ parse: [] });

    const image = await call(new URL(imageUrl).pathname);
    expect(image.status).toBe(200);
    expect(image.headers.get('Content-Type')).toBe('image/png');
    expect([...new Uint8Array(await image.arrayBuffer()).subarray(0, 8)]).toEqual(PNG_SIGNATURE);

    // The buttons, and the share page the Share link opens.
    const key = /\/i\/([0-9a-f]{64})\.png$/.exec(imageUrl)?.[1];
    const { actions, links } = buttonsOf(edit);
    expect(Object.fromEntries(actions)).toEqual({
      'Re-roll': `reroll:${key}`,
      Variations: `vary:${key}`,
      'Same seed': `seed:${key}`,
      'Zoom out': `zoom:${key}`,
      Delete: `delete:${userId}`,
    });
    expect(links.get('Share')).toBe(`https://edge.test/p/${key}`);
    const share = await call(`/p/${key}`);
    expect(share.status).toBe(200);
    expect(await share.text()).toContain(imageUrl);

    const jobs = await gpuCalls(prompt);
    expect(jobs).toHaveLength(1);
    expect(jobs[0].seeds).toEqual([1234]);
  });

  it('passes every option through the same request preparation as the HTTP API', async () => {
    const prompt = uniquePrompt('a (red:1.3) kite');
    const { edit } = await imagineAndWait({
      prompt,
      negative: 'fog',
      seed: 77,
      steps: 12,
      size: '128x96',
      scheduler: 'euler_ancestral',
      guidance: 4.5,
    });
    const [job] = await gpuCalls(prompt);
    expect(job).toMatchObject({
      seeds: [77],
      steps: 12,
      width: 128,
      height: 96,
      scheduler: 'euler_ancestral',
    });
    expect(field(edit, 'Negative prompt')).toBe('fog');
    expect(field(edit, 'Size')).toBe('128×96');
    expect(field(edit, 'Guidance')).toBe('4.5');
    // Discord markdown in the prompt is escaped, so it shows as typed.
    expect(edit.body?.embeds?.[0]?.description).toBe(prompt.replace(/[()]/g, (c) => `\\${c}`));
  });

  it("applies the server's default negative prompt and step limit", async () => {
    const prompt = uniquePrompt('a mossy stone');
    const { edit } = await imagineAndWait({ prompt, seed: 5 }, { guildId: TEST_GUILDS.strict });
    expect(field(edit, 'Negative prompt')).toBe(STRICT_NEGATIVE_PROMPT);
    // The model's default of 20 steps is above this server's maximum.
    expect(field(edit, 'Steps')).toBe(String(STRICT_MAX_STEPS));
    expect((await gpuCalls(prompt))[0].steps).toBe(STRICT_MAX_STEPS);

    const interaction = imagineInteraction(
      { prompt: uniquePrompt('too many steps'), steps: STRICT_MAX_STEPS + 1 },
      { guildId: TEST_GUILDS.strict },
    );
    const { body } = await interact(interaction);
    expect(ephemeralText(body)).toBe(
      `❌ steps: ${STRICT_MAX_STEPS + 1} is above this server's maximum of ${STRICT_MAX_STEPS}`,
    );
  });

  it('answers a prompt the service rejects at once, to the user alone, and queues nothing', async () => {
    // 240 tokens in under 1000 characters: refused by the tokenizer's limit, not Discord's length.
    const prompt = uniquePrompt(Array(240).fill('cat').join(' '));
    const interaction = imagineInteraction({ prompt });
    const { response, body } = await interact(interaction);
    expect(response.status).toBe(200);
    const text = ephemeralText(body);
    expect(text).toMatch(/^❌ prompt is too long: it has \d+ tokens/);
    expect(text).toContain('225');
    // Give a wrongly queued job time to show up; none does.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(await discordCalls(interaction.token)).toEqual([]);
    expect(await gpuCalls(prompt)).toEqual([]);
  });

  it('answers an emphasis weight outside -10..10 at once, to the user alone, naming the option', async () => {
    const prompt = uniquePrompt('(a boat:20)');
    const interaction = imagineInteraction({ prompt });
    const { response, body } = await interact(interaction);
    expect(response.status).toBe(200);
    expect(ephemeralText(body)).toMatch(
      /^❌ prompt: the attention weight 20 on "a boat" is outside .*-10 to 10/,
    );
    const negative = await interact(imagineInteraction({ prompt: 'x', negative: '(fog:-11)' }));
    expect(ephemeralText(negative.body)).toMatch(
      /^❌ negative: the attention weight -11 on "fog" is outside/,
    );
    // Give a wrongly queued job time to show up; none does.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(await discordCalls(interaction.token)).toEqual([]);
    expect(await gpuCalls(prompt)).toEqual([]);
  });

  it('names the option the user typed when refusing a value', async () => {
    const cases: [Parameters<typeof imagineInteraction>[0], RegExp][] = [
      [{ prompt: 'x', size: '96x80' }, /^❌ size: 80 is not a multiple of 32, which model "tiny-sd" needs$/],
      [{ prompt: 'x', size: '100x100' }, /^❌ size: must be a multiple of 8; got 100$/],
      [{ prompt: 'x', size: 'huge' }, /^❌ size: "huge" must look like 512x512/],
      [{ prompt: 'x', guidance: 31 }, /^❌ guidance: /],
      [{ prompt: 'x', scheduler: 'warp' }, /^❌ scheduler: unknown scheduler/],
      [{ prompt: 'x', steps: 51 }, /^❌ steps: 51 is above/],
      [{ prompt: 'x', negative: 'n'.repeat(501) }, /^❌ negative: 501 characters is above the limit of 500/],
      [
        // 479 characters, a token each: over 225 tokens within Discord's 500 characters.
        { prompt: 'x', negative: Array(240).fill('a').join(',') },
        /^❌ negative is too long: it has \d+ tokens/,
      ],
    ];
    for (const [options, message] of cases) {
      const { body } = await interact(imagineInteraction(options));
      expect(ephemeralText(body)).toMatch(message);
    }
  });

  it('limits each user exactly, and tells them alone when they are over', async () => {
    const userId = newUserId();
    const prompt = uniquePrompt('a rate-limited pear');
    // DISCORD_USER_RATE_LIMIT in wrangler.toml: 10 images per 300 s.
    for (let i = 0; i < 10; i++) {
      const { body } = await interact(imagineInteraction({ prompt, seed: 3 }, { userId }));
      expect(body?.type).toBe(InteractionResponseType.DeferredChannelMessageWithSource);
    }
    const refused = imagineInteraction({ prompt, seed: 3 }, { userId });
    const { body } = await interact(refused);
    expect(ephemeralText(body)).toMatch(/^❌ you can make 10 images every 300 s; try again in \d+ s$/);
    // Someone else in the same server is not affected.
    const other = await interact(imagineInteraction({ prompt, seed: 3 }));
    expect(other.body?.type).toBe(InteractionResponseType.DeferredChannelMessageWithSource);
  });

  it('limits each server across its users', async () => {
    const prompt = uniquePrompt('a crowded server');
    for (let i = 0; i < SMALL_SERVER_LIMIT; i++) {
      const { body } = await interact(
        imagineInteraction({ prompt, seed: 9 }, { guildId: TEST_GUILDS.small }),
      );
      expect(body?.type).toBe(InteractionResponseType.DeferredChannelMessageWithSource);
    }
    const { body } = await interact(imagineInteraction({ prompt, seed: 9 }, { guildId: TEST_GUILDS.small }));
    expect(ephemeralText(body)).toMatch(
      new RegExp(`^❌ this server can make ${SMALL_SERVER_LIMIT} images every 300 s`),
    );
  });

  it('says so, and runs nothing, when the job could not finish before the token expires', async () => {
    const prompt = uniquePrompt('a late owl');
    // Created 13 minutes ago: 2 minutes of token left, less than two gpu-worker attempts need.
    const { edit } = await imagineAndWait({ prompt }, { id: snowflake(Date.now() - 13 * 60_000) });
    expect(edit.method).toBe('PATCH');
    expect(edit.body?.content).toMatch(/^⚠️ Could not make this image in time: .*15 minutes/);
    expect(edit.body?.embeds).toEqual([]);
    expect(edit.body?.components).toEqual([]);
    expect(await gpuCalls(prompt)).toEqual([]);
  });

  it('waits out a short Discord rate limit on the edit, then edits once', async () => {
    const token = `ratelimited-${crypto.randomUUID()}`;
    await interact(imagineInteraction({ prompt: uniquePrompt('a patient snail') }, { token }));
    const calls = await waitForCalls(token, 2);
    expect(calls.map((c) => c.status)).toEqual([429, 200]);
    expect(calls[1].body?.embeds?.[0]?.image?.url).toMatch(/\/i\/[0-9a-f]{64}\.png$/);
  });
});
