// The Discord settings among the edge's vars and secrets (wrangler.toml, .dev.vars.example),
// validated with the rest of the edge's configuration: these fields are spread into EdgeConfig.
// Discord is on when DISCORD_PUBLIC_KEY is set; `discordApp` refuses to run half-configured.
import { LIMITS } from '@latent-edge/shared/protocol/limits';
import { z } from 'zod';
import { ApiError } from '../http/api-error.ts';
import { PromptRules } from '../safety/prompt-rules.ts';

/** Prompt lengths the /imagine options allow. Together at most 6000 UTF-8 bytes, so an image's
 * R2 metadata always holds both prompts whole and its buttons can make it again exactly. */
export const DISCORD_PROMPT_CHARS = 1000;
export const DISCORD_NEGATIVE_CHARS = 500;
/** Variations asks for this many images at once. */
export const VARIATION_COUNT = 4;

/** Vars arrive as JSON values from wrangler.toml, or strings from the dashboard and `.dev.vars`. */
const integer = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

export const snowflake = z.string().regex(/^\d{17,20}$/, { error: 'must be a Discord id (17-20 digits)' });

const serverFields = {
  /** A model id from MODELS; empty: the first of MODELS. */
  model: z.string().max(64),
  /** Used when the user gives no negative prompt. */
  negative_prompt: z.string().max(DISCORD_NEGATIVE_CHARS),
  /** The most steps a user may ask for; the model's own max_steps still applies. */
  max_steps: z.int().min(1).max(LIMITS.maxSteps),
  /** Prompt-policy rules of this server, checked after the model's PROMPT_RULES. */
  prompt_rules: PromptRules,
  /**
   * Whether channels the server marks NSFW get images without the gpu-worker's safety checker.
   * Other channels are always filtered.
   */
  unfiltered_nsfw_channels: z.boolean(),
};

export const DiscordDefaults = z.strictObject({
  model: serverFields.model.default(''),
  negative_prompt: serverFields.negative_prompt.default(''),
  max_steps: serverFields.max_steps.default(LIMITS.maxSteps),
  prompt_rules: serverFields.prompt_rules.default([]),
  unfiltered_nsfw_channels: serverFields.unfiltered_nsfw_channels.default(false),
});

/** One server's own settings; what it leaves out comes from DISCORD_DEFAULTS. */
export const DiscordServer = z.strictObject({
  guild_id: snowflake,
  model: serverFields.model.optional(),
  negative_prompt: serverFields.negative_prompt.optional(),
  max_steps: serverFields.max_steps.optional(),
  prompt_rules: serverFields.prompt_rules.optional(),
  unfiltered_nsfw_channels: serverFields.unfiltered_nsfw_channels.optional(),
  /** Images per window for this server, instead of DISCORD_SERVER_RATE_LIMIT. */
  rate_limit: z.int().min(VARIATION_COUNT).max(1_000_000).optional(),
});

export const DISCORD_CONFIG = {
  /** The application's id; required once DISCORD_PUBLIC_KEY is set. */
  DISCORD_APPLICATION_ID: z.union([z.literal(''), snowflake]).default(''),
  /** Secret: the application's Ed25519 public key, hex. Unset or empty: Discord is off. */
  DISCORD_PUBLIC_KEY: z
    .union([z.literal(''), z.string().regex(/^[0-9a-fA-F]{64}$/, { error: 'must be 64 hex characters' })])
    .optional()
    .transform((key) => key?.toLowerCase() || undefined),
  /** Discord's REST API base, version included. */
  DISCORD_API_BASE: z
    .url({ protocol: /^https?$/, error: 'must be an http(s) URL' })
    .default('https://discord.com/api/v10')
    .transform((url) => url.replace(/\/+$/, '')),
  /** Images per window per Discord user, every server together. */
  DISCORD_USER_RATE_LIMIT: integer(VARIATION_COUNT, 1_000_000).default(10),
  /** Images per window per server, unless its DISCORD_SERVERS entry says otherwise. */
  DISCORD_SERVER_RATE_LIMIT: integer(VARIATION_COUNT, 1_000_000).default(60),
  DISCORD_RATE_LIMIT_WINDOW_SECONDS: integer(1, 86_400).default(300),
  /** Least time between two progress edits of one /imagine reply, in ms (Discord's webhook routes
   * allow a few calls per message every few seconds; below 1 s risks 429s). */
  DISCORD_PROGRESS_INTERVAL_MS: integer(1000, 60_000).default(2500),
  /** Seconds before a job's first retry (doubling: 5, 10, 20, 40 by default; shorter than API jobs'). */
  DISCORD_RETRY_SECONDS: integer(1, 60).default(5),
  DISCORD_DEFAULTS: DiscordDefaults.default({
    model: '',
    negative_prompt: '',
    max_steps: LIMITS.maxSteps,
    prompt_rules: [],
    unfiltered_nsfw_channels: false,
  }),
  DISCORD_SERVERS: z
    .array(DiscordServer)
    .default([])
    .refine((servers) => new Set(servers.map((s) => s.guild_id)).size === servers.length, {
      error: 'guild ids must be unique',
    }),
};

const DiscordConfig = z.object(DISCORD_CONFIG);
type DiscordConfig = z.output<typeof DiscordConfig>;

/** What the interactions route needs, once Discord is known to be on. */
export interface DiscordApp {
  applicationId: string;
  publicKey: string;
}

export function discordApp(config: DiscordConfig): DiscordApp {
  if (!config.DISCORD_PUBLIC_KEY) {
    throw new ApiError(
      404,
      'not_found',
      'Discord is not enabled on this server (DISCORD_PUBLIC_KEY is not set)',
    );
  }
  if (!config.DISCORD_APPLICATION_ID) {
    throw new ApiError(
      500,
      'misconfigured',
      'edge configuration: DISCORD_APPLICATION_ID must be set when DISCORD_PUBLIC_KEY is',
    );
  }
  return { applicationId: config.DISCORD_APPLICATION_ID, publicKey: config.DISCORD_PUBLIC_KEY };
}
