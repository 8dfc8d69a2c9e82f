// Helpers for the Discord tests, inside workerd: interactions shaped by discord-api-types, signed
// with tweetnacl (an Ed25519 implementation independent of the Worker's WebCrypto) with the key
// pair the fake Discord made for this run, sent through the Worker's front door (SELF); and the
// calls the fake Discord REST API recorded (edge/test/node/fake-discord.ts).
import { SELF } from 'cloudflare:test';
import type {
  APIChatInputApplicationCommandInteraction,
  APIInteraction,
  APIInteractionResponse,
  APIMessage,
  APIMessageComponentButtonInteraction,
  APIPingInteraction,
  APIUser,
  Locale,
  ApplicationCommandOptionType as OptionType,
} from 'discord-api-types/v10';
import nacl from 'tweetnacl';
import {
  ApplicationCommandOptionType,
  ApplicationCommandType,
  ApplicationIntegrationType,
  ComponentType,
  InteractionContextType,
  InteractionType,
} from '../../src/discord/discord-constants.ts';
import { TEST_DISCORD_APPLICATION_ID, TEST_GUILDS } from '../node/fake-discord-ids.ts';
import { ORIGIN } from './api.ts';

export { TEST_DISCORD_APPLICATION_ID, TEST_GUILDS };

const DISCORD_EPOCH_MS = 1_420_070_400_000n;

/** A snowflake made at `ms`, with random low bits so ids made in one millisecond differ. */
export function snowflake(ms = Date.now()): string {
  const random = BigInt(crypto.getRandomValues(new Uint32Array(1))[0] & 0x3fffff);
  return String(((BigInt(ms) - DISCORD_EPOCH_MS) << 22n) | random);
}

export function newUserId(): string {
  return snowflake();
}

const hexBytes = (hex: string) => Uint8Array.from(hex.match(/../g) ?? [], (b) => Number.parseInt(b, 16));
const toHex = (bytes: Uint8Array) => Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');

let secretKey: Uint8Array | undefined;
async function signingKey(): Promise<Uint8Array> {
  if (!secretKey) {
    const keys = (await (await fetch('http://control.discord.test/keys')).json()) as { secret_key: string };
    secretKey = hexBytes(keys.secret_key);
  }
  return secretKey;
}

export interface SignOptions {
  /** Unix seconds; now by default. */
  timestamp?: number;
  /** Sign with this key instead of the application's. */
  secretKey?: Uint8Array;
  /** Send these headers instead of the signed ones. */
  headers?: Record<string, string>;
}

export async function signedHeaders(
  body: string,
  options: SignOptions = {},
): Promise<Record<string, string>> {
  const timestamp = String(options.timestamp ?? Math.floor(Date.now() / 1000));
  const message = new TextEncoder().encode(timestamp + body);
  const signature = nacl.sign.detached(message, options.secretKey ?? (await signingKey()));
  return { 'X-Signature-Ed25519': toHex(signature), 'X-Signature-Timestamp': timestamp };
}

/** POSTs a raw body to the interactions endpoint, signed unless told otherwise. */
export async function postInteractionBody(body: string, options: SignOptions = {}): Promise<Response> {
  const headers = options.headers ?? (await signedHeaders(body, options));
  return SELF.fetch(`${ORIGIN}/discord/interactions`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...headers },
    body,
  });
}

export async function interact(interaction: APIInteraction, options: SignOptions = {}) {
  const response = await postInteractionBody(JSON.stringify(interaction), options);
  const text = await response.text();
  return { response, body: (text ? JSON.parse(text) : undefined) as APIInteractionResponse | undefined };
}

function user(id: string): APIUser {
  return { id, username: `user${id.slice(-4)}`, discriminator: '0', global_name: null, avatar: null };
}

function common(guildId: string, userId: string) {
  return {
    application_id: TEST_DISCORD_APPLICATION_ID,
    version: 1 as const,
    token: `token-${crypto.randomUUID()}`,
    app_permissions: '2048',
    locale: 'en-US' as Locale,
    guild_locale: 'en-US' as Locale,
    entitlements: [],
    authorizing_integration_owners: { [ApplicationIntegrationType.GuildInstall]: guildId },
    context: InteractionContextType.Guild,
    attachment_size_limit: 10 * 1024 * 1024,
    guild_id: guildId,
    channel_id: '1300000000000000001',
    channel: { id: '1300000000000000001', type: 0 as const }, // GUILD_TEXT
    member: {
      user: user(userId),
      roles: [],
      joined_at: '2026-01-01T00:00:00.000Z',
      deaf: false,
      mute: false,
      flags: 0,
      permissions: '2048',
    },
  };
}

export function pingInteraction(): APIPingInteraction {
  return {
    id: snowflake(),
    application_id: TEST_DISCORD_APPLICATION_ID,
    type: InteractionType.Ping,
    token: `token-${crypto.randomUUID()}`,
    version: 1,
    app_permissions: '0',
    entitlements: [],
    authorizing_integration_owners: {},
    attachment_size_limit: 10 * 1024 * 1024,
  };
}

export interface ImagineOptions {
  prompt?: string;
  negative?: string;
  seed?: number;
  steps?: number;
  size?: string;
  scheduler?: string;
  guidance?: number;
}

export interface InteractionOptions {
  userId?: string;
  guildId?: string;
  /** The interaction's id, which dates its token; now by default. */
  id?: string;
  token?: string;
}

/** /imagine with these options, as Discord sends it from a server. */
export function imagineInteraction(
  options: ImagineOptions,
  { userId = newUserId(), guildId = TEST_GUILDS.plain, id = snowflake(), token }: InteractionOptions = {},
): APIChatInputApplicationCommandInteraction {
  const types: Record<keyof ImagineOptions, OptionType> = {
    prompt: ApplicationCommandOptionType.String,
    negative: ApplicationCommandOptionType.String,
    seed: ApplicationCommandOptionType.Integer,
    steps: ApplicationCommandOptionType.Integer,
    size: ApplicationCommandOptionType.String,
    scheduler: ApplicationCommandOptionType.String,
    guidance: ApplicationCommandOptionType.Number,
  };
  const base = common(guildId, userId);
  return {
    ...base,
    ...(token ? { token } : {}),
    id,
    type: InteractionType.ApplicationCommand,
    data: {
      id: '1400000000000000001',
      name: 'imagine',
      type: ApplicationCommandType.ChatInput,
      options: Object.entries(options).map(
        ([name, value]) =>
          ({ name, type: types[name as keyof ImagineOptions], value }) as NonNullable<
            APIChatInputApplicationCommandInteraction['data']['options']
          >[number],
      ),
    },
  };
}

/** A click on the button `customId` of `message`, as Discord sends it. */
export function buttonInteraction(
  customId: string,
  message: APIMessage,
  { userId = newUserId(), guildId = TEST_GUILDS.plain, id = snowflake(), token }: InteractionOptions = {},
): APIMessageComponentButtonInteraction {
  const base = common(guildId, userId);
  return {
    ...base,
    ...(token ? { token } : {}),
    id,
    type: InteractionType.MessageComponent,
    message,
    data: { custom_id: customId, component_type: ComponentType.Button },
  };
}

// ---- The fake Discord's records ------------------------------------------------------------------

export interface DiscordCall {
  method: string;
  path: string;
  token?: string;
  headers: Record<string, string>;
  body?: Partial<APIMessage> & { flags?: number; allowed_mentions?: { parse: string[] } };
  status: number;
  problems: string[];
}

export async function discordCalls(token: string): Promise<DiscordCall[]> {
  const response = await fetch(`http://control.discord.test/calls?token=${encodeURIComponent(token)}`);
  return response.json();
}

/** Waits (up to ~10 s) for the fake Discord to have `count` calls with this token. */
export async function waitForCalls(token: string, count = 1): Promise<DiscordCall[]> {
  for (let i = 0; i < 200; i++) {
    const calls = await discordCalls(token);
    if (calls.length >= count) return calls;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`the fake Discord got fewer than ${count} calls for token ${token}`);
}

/** The message a recorded call left, as a button interaction carries it. */
export function messageFrom(call: DiscordCall): APIMessage {
  const body = call.body ?? {};
  return {
    id: snowflake(),
    channel_id: '1300000000000000001',
    author: user(TEST_DISCORD_APPLICATION_ID),
    content: body.content ?? '',
    timestamp: new Date().toISOString(),
    edited_timestamp: null,
    tts: false,
    mention_everyone: false,
    mentions: [],
    mention_roles: [],
    attachments: [],
    embeds: body.embeds ?? [],
    components: body.components ?? [],
    pinned: false,
    type: 0, // DEFAULT
  };
}

/** custom_id → label of each button with a custom_id; link buttons by label → url. */
export function buttonsOf(call: DiscordCall): { actions: Map<string, string>; links: Map<string, string> } {
  const actions = new Map<string, string>();
  const links = new Map<string, string>();
  for (const row of call.body?.components ?? []) {
    if (row.type !== ComponentType.ActionRow) continue;
    for (const component of row.components) {
      if (component.type !== ComponentType.Button) continue;
      if ('custom_id' in component) actions.set(component.label ?? '', component.custom_id);
      if ('url' in component) links.set(component.label ?? '', component.url);
    }
  }
  return { actions, links };
}
