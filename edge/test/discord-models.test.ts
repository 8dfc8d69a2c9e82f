// /imagine with more than one served model: the `model` option picks one, and `size` offers that
// model's sizes by autocomplete (tiny-sdxl's aspect buckets, tiny-sd's squares and ratios); a
// size the chosen model does not make, or a model that is not served, is refused to the user
// alone, naming what is allowed, and queues nothing.
import type {
  APIApplicationCommandOptionChoice,
  APIInteractionResponseCallbackData,
} from 'discord-api-types/v10';
import { describe, expect, it } from 'vitest';
import { InteractionResponseType, MessageFlags } from '../src/discord/discord-constants.ts';
import { gpuCalls, uniquePrompt } from './support/api.ts';
import {
  autocompleteInteraction,
  type ImagineOptions,
  imagineInteraction,
  interact,
  waitForCalls,
} from './support/discord.ts';

const SDXL_BUCKETS = ['64x64', '96x64', '64x96', '128x64', '64x128'];

async function suggestions(options: ImagineOptions): Promise<APIApplicationCommandOptionChoice<string>[]> {
  const { response, body } = await interact(autocompleteInteraction(options, 'size'));
  expect(response.status).toBe(200);
  const answer = body as { type: number; data: { choices: APIApplicationCommandOptionChoice<string>[] } };
  expect(answer.type).toBe(InteractionResponseType.ApplicationCommandAutocompleteResult);
  expect(answer.data.choices.length).toBeLessThanOrEqual(25);
  return answer.data.choices;
}

function ephemeralText(body: unknown): string {
  const answer = body as { type: number; data: APIInteractionResponseCallbackData };
  expect(answer.type).toBe(InteractionResponseType.ChannelMessageWithSource);
  expect(answer.data.flags).toBe(MessageFlags.Ephemeral);
  return answer.data.content ?? '';
}

describe('/imagine size autocomplete', () => {
  it("offers the chosen SDXL model's buckets, and only them", async () => {
    const choices = await suggestions({ model: 'tiny-sdxl', size: '' });
    expect(choices.map((c) => c.value)).toEqual(SDXL_BUCKETS);
    expect(choices[0].name).toBe('64×64 (default)');
  });

  it("offers the server's model's sizes when no model is chosen", async () => {
    const choices = await suggestions({ prompt: 'a', size: '' });
    const values = choices.map((c) => c.value);
    // tiny-sd: 64×64 by default, sides multiples of 32 up to 256.
    expect(choices[0]).toEqual({ name: '64×64 (default)', value: '64x64' });
    for (const size of values) {
      const [w, h] = size.split('x').map(Number);
      expect(w % 32 === 0 && h % 32 === 0 && w <= 256 && h <= 256 && w >= 64 && h >= 64).toBe(true);
    }
    expect(values).toContain('256x256');
    expect(values).toContain('96x64');
    expect(values).not.toEqual(SDXL_BUCKETS);
  });

  it('narrows to what the user typed, × or x alike', async () => {
    expect((await suggestions({ model: 'tiny-sdxl', size: '128' })).map((c) => c.value)).toEqual([
      '128x64',
      '64x128',
    ]);
    expect((await suggestions({ model: 'tiny-sdxl', size: '96×' })).map((c) => c.value)).toEqual(['96x64']);
    expect(await suggestions({ model: 'tiny-sdxl', size: '1000' })).toEqual([]);
  });
});

describe('/imagine with a model', () => {
  it('draws with the chosen SDXL model at one of its buckets', async () => {
    const prompt = uniquePrompt('a snowy owl');
    const interaction = imagineInteraction({ prompt, model: 'tiny-sdxl', size: '128x64', seed: 9 });
    const { body } = await interact(interaction);
    expect(body).toEqual({ type: InteractionResponseType.DeferredChannelMessageWithSource });
    const [edit] = await waitForCalls(interaction.token);
    expect(edit.problems).toEqual([]);
    const [job] = await gpuCalls(prompt);
    expect(job).toMatchObject({ status: 200, width: 128, height: 64, scheduler: 'euler' });
    expect(job.prompt_chunks_2).toHaveLength(1);
  });

  it('refuses a size the chosen model does not make, naming its sizes, and queues nothing', async () => {
    const prompt = uniquePrompt('a red fox');
    const { body } = await interact(imagineInteraction({ prompt, model: 'tiny-sdxl', size: '96x96' }));
    const text = ephemeralText(body);
    expect(text).toContain('size: 96x96');
    for (const bucket of SDXL_BUCKETS) expect(text).toContain(bucket);
    expect(await gpuCalls(prompt)).toHaveLength(0);
  });

  it('refuses a model that is not served, naming the served ones', async () => {
    const prompt = uniquePrompt('a blue whale');
    const { body } = await interact(imagineInteraction({ prompt, model: 'sd-xxl' }));
    const text = ephemeralText(body);
    expect(text).toContain('"sd-xxl"');
    expect(text).toContain('tiny-sd, tiny-sdxl, tiny-sdxl-turbo');
    expect(await gpuCalls(prompt)).toHaveLength(0);
  });
});
