// The command registration script against the fake Discord REST API on a loopback port (the
// same fake the edge tests use, edge/test/node/fake-discord.ts), which checks the bot token, the
// User-Agent and each command's shape, and records the calls.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DiscordCall, discordCalls, startFakeDiscordServer } from '../../edge/test/node/fake-discord.ts';
import {
  TEST_DISCORD_APPLICATION_ID,
  TEST_DISCORD_BOT_TOKEN,
} from '../../edge/test/node/fake-discord-ids.ts';
import { registerCommands } from './register-commands.ts';

let fake: Awaited<ReturnType<typeof startFakeDiscordServer>>;
beforeAll(async () => {
  fake = await startFakeDiscordServer();
});
afterAll(() => fake.close());

async function run(argv: string[], env: Record<string, string | undefined> = {}) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await registerCommands({
    argv,
    env,
    log: (line) => out.push(line),
    error: (line) => err.push(line),
  });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

const ENV = {
  DISCORD_APPLICATION_ID: TEST_DISCORD_APPLICATION_ID,
  DISCORD_BOT_TOKEN: TEST_DISCORD_BOT_TOKEN,
};

function lastCall(): DiscordCall {
  return discordCalls()[discordCalls().length - 1];
}

describe('infra/discord/register-commands', () => {
  it('prints the commands with --dry-run, built from wrangler.toml MODELS, and sends nothing', async () => {
    const before = discordCalls().length;
    const { code, out } = await run(['--dry-run']);
    expect(code).toBe(0);
    const [imagine] = JSON.parse(out);
    expect(imagine).toMatchObject({ name: 'imagine', type: 1 });
    const options = Object.fromEntries(imagine.options.map((o: { name: string }) => [o.name, o])) as Record<
      string,
      {
        required?: boolean;
        max_value?: number;
        autocomplete?: boolean;
        choices?: { name: string; value: string }[];
      }
    >;
    expect(Object.keys(options)).toEqual([
      'prompt',
      'negative',
      'seed',
      'steps',
      'model',
      'size',
      'scheduler',
      'guidance',
    ]);
    expect(options.prompt.required).toBe(true);
    // The most any served model allows: tiny-sd's and tiny-sdxl's 50 (tiny-sdxl-turbo's is 4).
    expect(options.steps.max_value).toBe(50);
    expect(options.model.choices).toEqual([
      { name: 'tiny-sd', value: 'tiny-sd' },
      { name: 'tiny-sdxl', value: 'tiny-sdxl' },
      { name: 'tiny-sdxl-turbo', value: 'tiny-sdxl-turbo' },
    ]);
    // Sizes depend on the model chosen, so the edge offers them as the user types.
    expect(options.size.autocomplete).toBe(true);
    expect(options.size.choices).toBeUndefined();
    expect(options.scheduler.choices).toContainEqual({ name: 'Euler a', value: 'euler_ancestral' });
    expect(discordCalls().length).toBe(before);
  });

  it('registers the commands globally with a bulk overwrite, authorised by the bot token', async () => {
    const { code, out, err } = await run(['--api-base', fake.apiBase], ENV);
    expect(err).toBe('');
    expect(code).toBe(0);
    expect(out).toMatch(/^Registered \/imagine \(\d+\) globally\.$/);
    const put = lastCall();
    expect(put).toMatchObject({
      method: 'PUT',
      path: `/api/v10/applications/${TEST_DISCORD_APPLICATION_ID}/commands`,
      status: 200,
      problems: [],
    });
    expect(put.headers.authorization).toBe(`Bot ${TEST_DISCORD_BOT_TOKEN}`);
    expect(put.body).toEqual(JSON.parse((await run(['--dry-run'])).out));
  });

  it('registers in one server with --guild', async () => {
    const guild = '1200000000000000009';
    const { code, out } = await run(['--api-base', fake.apiBase, '--guild', guild], ENV);
    expect(code).toBe(0);
    expect(out).toContain(`in server ${guild}`);
    expect(lastCall().path).toBe(
      `/api/v10/applications/${TEST_DISCORD_APPLICATION_ID}/guilds/${guild}/commands`,
    );
  });

  it("reports Discord's refusal of a wrong token, and refuses to run without one", async () => {
    const wrong = await run(['--api-base', fake.apiBase], { ...ENV, DISCORD_BOT_TOKEN: 'not-the-token' });
    expect(wrong.code).toBe(1);
    expect(wrong.err).toContain('401');
    const missing = await run(['--api-base', fake.apiBase], {
      DISCORD_APPLICATION_ID: TEST_DISCORD_APPLICATION_ID,
    });
    expect(missing.code).toBe(2);
    expect(missing.err).toContain('DISCORD_BOT_TOKEN');
    const noApp = await run(['--api-base', fake.apiBase], { DISCORD_BOT_TOKEN: TEST_DISCORD_BOT_TOKEN });
    expect(noApp.code).toBe(2);
    expect(noApp.err).toContain('application id');
  });
});
