// Fixed ids the fake Discord API and the Discord tests share (no imports: both Node and workerd
// load this file). The guilds have their own settings in DISCORD_SERVERS (fake-discord.ts).
export const TEST_DISCORD_APPLICATION_ID = '1100000000000000001';
export const TEST_DISCORD_BOT_TOKEN = 'test-bot-token.0123456789';
export const TEST_DISCORD_API_BASE = 'https://discord.test/api/v10';

export const TEST_GUILDS = {
  /** No DISCORD_SERVERS entry: DISCORD_DEFAULTS apply. */
  plain: '1200000000000000001',
  /** A default negative prompt and at most 8 steps. */
  strict: '1200000000000000002',
  /** At most 4 images per window for the whole server. */
  small: '1200000000000000003',
  /** Unfiltered images in its NSFW channels, and a prompt rule of its own. */
  nsfwAllowed: '1200000000000000004',
} as const;

/** The prompt-policy rule of TEST_GUILDS.nsfwAllowed, and a term only it blocks. */
export const SERVER_RULE_NAME = 'server-only';
export const SERVER_BLOCKED_TERM = 'pineapple';

export const STRICT_NEGATIVE_PROMPT = 'blurry, lowres';
export const STRICT_MAX_STEPS = 8;
export const SMALL_SERVER_LIMIT = 4;
