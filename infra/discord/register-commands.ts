// Registers the bot's slash commands (/imagine) with Discord through its REST API: a bulk
// overwrite (PUT), which replaces every command of the application in that scope (SD-NOTES §5.6).
// The command is built by the edge's own code from wrangler.toml's MODELS, so its model choices,
// step limit and schedulers are the ones the edge accepts (sizes the edge offers as the user
// types, by autocomplete). Register again after changing MODELS.
//
//   npx tsx infra/discord/register-commands.ts --dry-run            print the JSON, send nothing
//   DISCORD_BOT_TOKEN=… npx tsx infra/discord/register-commands.ts  global (every server)
//   DISCORD_BOT_TOKEN=… npx tsx infra/discord/register-commands.ts --guild <id>   one server, at once
//
// The application id and API base come from --application-id / --api-base, else the
// DISCORD_APPLICATION_ID / DISCORD_API_BASE environment variables, else wrangler.toml's vars.
// `node --env-file=.dev.vars --import tsx infra/discord/register-commands.ts` reads the token
// from .dev.vars. Discord's 429 is reported with its retry_after, never retried blindly.
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { experimental_readRawConfig } from 'wrangler';
import packageJson from '../../edge/package.json' with { type: 'json' };
import { ModelConfig } from '../../edge/src/config/model-config.ts';
import { snowflake } from '../../edge/src/discord/discord-config.ts';
import { Routes } from '../../edge/src/discord/discord-constants.ts';
import { imagineCommand } from '../../edge/src/discord/imagine-command.ts';

const ROOT = resolve(import.meta.dirname, '../..');
const DEFAULT_API_BASE = 'https://discord.com/api/v10';

export interface RegisterContext {
  argv: string[];
  env: Record<string, string | undefined>;
  log: (line: string) => void;
  error: (line: string) => void;
}

function readWranglerVars(configPath: string): Record<string, unknown> {
  const { rawConfig } = experimental_readRawConfig({ config: configPath });
  return (rawConfig.vars ?? {}) as Record<string, unknown>;
}

export function buildCommands(vars: Record<string, unknown>) {
  // The edge's own zod (edge/node_modules) builds the array schema: one zod version per schema.
  const models = ModelConfig.array().min(1).safeParse(vars.MODELS);
  if (!models.success) throw new Error(`wrangler.toml MODELS: ${models.error.issues[0].message}`);
  return [imagineCommand(models.data)];
}

/** Runs the command line; returns the exit code. */
export async function registerCommands({ argv, env, log, error }: RegisterContext): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      'dry-run': { type: 'boolean', default: false },
      guild: { type: 'string' },
      'application-id': { type: 'string' },
      'api-base': { type: 'string' },
      config: { type: 'string', default: resolve(ROOT, 'wrangler.toml') },
    },
  });
  const vars = readWranglerVars(values.config);
  const commands = buildCommands(vars);
  if (values['dry-run']) {
    log(JSON.stringify(commands, null, 2));
    return 0;
  }

  const applicationId =
    values['application-id'] || env.DISCORD_APPLICATION_ID || String(vars.DISCORD_APPLICATION_ID ?? '');
  const apiBase = (
    values['api-base'] ||
    env.DISCORD_API_BASE ||
    String(vars.DISCORD_API_BASE ?? '') ||
    DEFAULT_API_BASE
  ).replace(/\/+$/, '');
  const token = env.DISCORD_BOT_TOKEN;
  if (!snowflake.safeParse(applicationId).success) {
    error('Set the application id: --application-id, DISCORD_APPLICATION_ID, or wrangler.toml [vars].');
    return 2;
  }
  if (values.guild !== undefined && !snowflake.safeParse(values.guild).success) {
    error(`--guild ${JSON.stringify(values.guild)} is not a Discord server id.`);
    return 2;
  }
  if (!token) {
    error('Set DISCORD_BOT_TOKEN (the bot token from the Developer Portal), or use --dry-run.');
    return 2;
  }

  const path = values.guild
    ? Routes.applicationGuildCommands(applicationId, values.guild)
    : Routes.applicationCommands(applicationId);
  const publicUrl = String(vars.PUBLIC_URL ?? '') || 'http://localhost';
  const response = await fetch(`${apiBase}${path}`, {
    method: 'PUT',
    headers: {
      Authorization: `Bot ${token}`,
      'Content-Type': 'application/json',
      'User-Agent': `DiscordBot (${publicUrl}, ${packageJson.version})`,
    },
    body: JSON.stringify(commands),
  });
  const text = await response.text();
  if (!response.ok) {
    let detail = text.slice(0, 2000);
    try {
      const body = JSON.parse(text) as { message?: string; retry_after?: number };
      if (response.status === 429) detail = `rate limited; retry after ${body.retry_after ?? '?'} s`;
    } catch {
      // Not JSON: shown as it is.
    }
    error(`Discord answered PUT ${path} with ${response.status}: ${detail}`);
    return 1;
  }
  const registered = JSON.parse(text) as { id: string; name: string }[];
  const scope = values.guild ? `in server ${values.guild}` : 'globally';
  for (const command of registered) log(`Registered /${command.name} (${command.id}) ${scope}.`);
  return 0;
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  registerCommands({
    argv: process.argv.slice(2),
    env: process.env,
    log: (line) => console.log(line),
    error: (line) => console.error(line),
  }).then(
    (code) => {
      process.exitCode = code;
    },
    (failure: Error) => {
      console.error(failure.message);
      process.exitCode = 1;
    },
  );
}
