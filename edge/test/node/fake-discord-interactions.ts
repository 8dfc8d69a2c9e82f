// The Discord side of the Discord tests, without a runtime of its own, so both the edge tests in
// workerd (edge/test/support/discord.ts) and the end-to-end test in Node (test/e2e/discord.e2e
// .test.ts) load it: interactions shaped by discord-api-types as Discord sends them, signed with
// tweetnacl (an Ed25519 implementation independent of the Worker's WebCrypto), posted to the
// edge's interactions endpoint through whatever fetch the caller has; and readers for the calls
// the fake Discord REST API records (fake-discord.ts).
import type {
  APIApplicationCommandAutocompleteInteraction,
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
import { TEST_DISCORD_APPLICATION_ID, TEST_GUILDS } from './fake-discord-ids.ts';

const DISCORD_EPOCH_MS = 1_420_070_400_000n;

/** A snowflake made at `ms`, with random low bits so ids made in one millisecond differ. */
export function snowflake(ms = Date.now()): string {
  const random = BigInt(crypto.getRandomValues(new Uint32Array(1))[0] & 0x3fffff);
  return String(((BigInt(ms) - DISCORD_EPOCH_MS) << 22n) | random);
}

export function newUserId(): string {
  return snowflake();
}

export const toHex = (bytes: Uint8Array) =>
  Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');

// ---- Signed requests to the interactions endpoint -------------------------------------------------

export interface SignOptions {
  /** Unix seconds; now by default. */
  timestamp?: number;
  /** Sign with this key instead of the application's. */
  secretKey?: Uint8Array;
  /** Send these headers instead of the signed ones. */
  headers?: Record<string, string>;
}

export interface InteractionEndpoint {
  /** The edge's POST /discord/interactions. */
  url: string;
  /** The application's Ed25519 secret key (tweetnacl's 64-byte form). */
  secretKey: () => Promise<Uint8Array> | Uint8Array;
  fetch: (url: string, init: RequestInit) => Promise<Response>;
}

/** Signs and sends interactions the way Discord does: Ed25519 over timestamp + the raw body. */
export function interactionClient(endpoint: InteractionEndpoint) {
  async function signedHeaders(body: string, options: SignOptions = {}): Promise<Record<string, string>> {
    const timestamp = String(options.timestamp ?? Math.floor(Date.now() / 1000));
    const message = new TextEncoder().encode(timestamp + body);
    const signature = nacl.sign.detached(message, options.secretKey ?? (await endpoint.secretKey()));
    return { 'X-Signature-Ed25519': toHex(signature), 'X-Signature-Timestamp': timestamp };
  }

  /** POSTs a raw body to the interactions endpoint, signed unless told otherwise. */
  async function postInteractionBody(body: string, options: SignOptions = {}): Promise<Response> {
    const headers = options.headers ?? (await signedHeaders(body, options));
    return endpoint.fetch(endpoint.url, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', ...headers },
      body,
    });
  }

  async function interact(interaction: APIInteraction, options: SignOptions = {}) {
    const response = await postInteractionBody(JSON.stringify(interaction), options);
    const text = await response.text();
    return { response, body: (text ? JSON.parse(text) : undefined) as APIInteractionResponse | undefined };
  }

  return { signedHeaders, postInteractionBody, interact };
}

// ---- Interactions ----------------------------------------------------------------------------------

function user(id: string): APIUser {
  return { id, username: `user${id.slice(-4)}`, discriminator: '0', global_name: null, avatar: null };
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
  model?: string;
  scheduler?: string;
  guidance?: number;
}

export interface InteractionOptions {
  userId?: string;
  guildId?: string;
  /** The interaction's id, which dates its token; now by default. */
  id?: string;
  token?: string;
  /** Whether the channel is marked NSFW (age-restricted); absent, as Discord sends most channels. */
  nsfw?: boolean;
}

/** The fields every interaction from a member of a server carries. */
function fromServer({
  userId = newUserId(),
  guildId = TEST_GUILDS.plain,
  id = snowflake(),
  token = `token-${crypto.randomUUID()}`,
  nsfw,
}: InteractionOptions) {
  return {
    id,
    application_id: TEST_DISCORD_APPLICATION_ID,
    version: 1 as const,
    token,
    app_permissions: '2048',
    locale: 'en-US' as Locale,
    guild_locale: 'en-US' as Locale,
    entitlements: [],
    authorizing_integration_owners: { [ApplicationIntegrationType.GuildInstall]: guildId },
    context: InteractionContextType.Guild,
    attachment_size_limit: 10 * 1024 * 1024,
    guild_id: guildId,
    channel_id: '1300000000000000001',
    channel: { id: '1300000000000000001', type: 0 as const, ...(nsfw !== undefined && { nsfw }) }, // GUILD_TEXT
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

/** /imagine with these options, as Discord sends it from a server. */
export function imagineInteraction(
  options: ImagineOptions,
  from: InteractionOptions = {},
): APIChatInputApplicationCommandInteraction {
  return {
    ...fromServer(from),
    type: InteractionType.ApplicationCommand,
    data: {
      id: '1400000000000000001',
      name: 'imagine',
      type: ApplicationCommandType.ChatInput,
      options: commandOptions(options) as APIChatInputApplicationCommandInteraction['data']['options'],
    },
  };
}

const OPTION_TYPES: Record<keyof ImagineOptions, OptionType> = {
  prompt: ApplicationCommandOptionType.String,
  negative: ApplicationCommandOptionType.String,
  seed: ApplicationCommandOptionType.Integer,
  steps: ApplicationCommandOptionType.Integer,
  size: ApplicationCommandOptionType.String,
  model: ApplicationCommandOptionType.String,
  scheduler: ApplicationCommandOptionType.String,
  guidance: ApplicationCommandOptionType.Number,
};

function commandOptions(options: ImagineOptions, focused?: keyof ImagineOptions) {
  return Object.entries(options).map(([name, value]) => ({
    name,
    type: OPTION_TYPES[name as keyof ImagineOptions],
    value,
    ...(name === focused && { focused: true }),
  }));
}

/** What Discord sends while the user types in `focused` of /imagine, with the options so far. */
export function autocompleteInteraction(
  options: ImagineOptions,
  focused: keyof ImagineOptions,
  from: InteractionOptions = {},
): APIApplicationCommandAutocompleteInteraction {
  return {
    ...fromServer(from),
    type: InteractionType.ApplicationCommandAutocomplete,
    data: {
      id: '1400000000000000001',
      name: 'imagine',
      type: ApplicationCommandType.ChatInput,
      options: commandOptions(
        options,
        focused,
      ) as APIApplicationCommandAutocompleteInteraction['data']['options'],
    },
  };
}

/** A click on the button `customId` of `message`, as Discord sends it. */
export function buttonInteraction(
  customId: string,
  message: APIMessage,
  from: InteractionOptions = {},
): APIMessageComponentButtonInteraction {
  return {
    ...fromServer(from),
    type: InteractionType.MessageComponent,
    message,
    data: { custom_id: customId, component_type: ComponentType.Button },
  };
}

// ---- The fake Discord's records ------------------------------------------------------------------

/** A message body as the edge sends it to Discord. */
export type RecordedMessage = Partial<APIMessage> & {
  flags?: number;
  allowed_mentions?: { parse: string[] };
};

/** A file a call uploaded (multipart/form-data), as the fake Discord read it. */
export interface RecordedFile {
  /** The form part: `files[n]`. */
  field: string;
  filename: string;
  content_type: string;
  size: number;
  base64: string;
}

/** One call the fake Discord REST API received; `Body` is `unknown` until a test reads it. */
export interface DiscordCall<Body = RecordedMessage> {
  /** When it arrived and when it was answered, ms since the epoch (the fake's clock). */
  at: number;
  answered_at?: number;
  method: string;
  path: string;
  /** The interaction token of a webhook route. */
  token?: string;
  headers: Record<string, string>;
  /** The message: the JSON body, or a multipart body's payload_json. */
  body?: Body;
  files?: RecordedFile[];
  /** After an accepted edit of @original: the file names of the attachments the reply keeps. */
  message_attachments?: string[];
  status: number;
  problems: string[];
}

/** A progress edit of an /imagine reply (edge/src/discord/progress-message.ts), not its result. */
export function isProgressEdit(call: DiscordCall): boolean {
  return call.method === 'PATCH' && /^⏳/.test(call.body?.embeds?.[0]?.description ?? '');
}

/** Polls `read` until it returns at least `count` calls, or throws after `timeoutMs`. */
export async function waitForCalls(
  read: () => Promise<DiscordCall[]> | DiscordCall[],
  { count = 1, timeoutMs = 10_000, what = 'the calls' } = {},
): Promise<DiscordCall[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const calls = await read();
    if (calls.length >= count) return calls;
    if (Date.now() > deadline) {
      throw new Error(
        `the fake Discord got ${calls.length} of ${count} calls for ${what} in ${timeoutMs} ms`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/**
 * Polls `read` until it holds the call that delivers a job (neither a progress edit nor a 429),
 * and returns every call by then; throws after `timeoutMs`.
 */
export async function waitForDelivery(
  read: () => Promise<DiscordCall[]> | DiscordCall[],
  { timeoutMs = 30_000, what = 'the delivery' } = {},
): Promise<DiscordCall[]> {
  const isDelivery = (call: DiscordCall) => !isProgressEdit(call) && call.status !== 429;
  return waitForCalls(
    async () => {
      const calls = await read();
      return calls.some(isDelivery) ? calls : [];
    },
    { timeoutMs, what },
  );
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

/** Buttons by label: label → custom_id of each action button, label → url of each link. */
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
