// A fake of Discord's REST API for the edge tests, in Node: Miniflare's outbound service sends it
// every fetch to discord.test (withFakeDiscord), and infra/discord's test and the end-to-end
// Discord test (test/e2e) run it as a loopback HTTP server. It records every call and checks what
// Discord checks: the route and application id, the User-Agent Discord requires, no Authorization
// on interaction-webhook routes (their token authorises them; a bot token there would be a leak),
// `Bot <token>` on command routes, JSON with its Content-Type or, for a message with files,
// multipart/form-data (fake-discord-uploads.ts), and the message shape and limits (content,
// embeds, action rows, buttons, unique custom_ids, attachments). It keeps each reply's (@original)
// attachments, as an edit leaves them. A call that breaks a rule is answered 400 the way Discord
// answers (code 50035) and recorded with its problems, so an edge bug fails the test. Each call is
// recorded with the time it arrived and the files it carried.
// Tokens steer it: `expired-…` → 404 Unknown Webhook; `ratelimited-…` → one 429 first (retry
// after 0.05 s); `ratelimited-long-…` → one 429 first, retry after 3 s; `slow-…` → every answer
// takes 2.5 s (a call is recorded when it arrives and when it is answered).
// The key pair that signs the tests' interactions is made here, once per run, with tweetnacl;
// the Worker gets the public key as DISCORD_PUBLIC_KEY, the tests the secret key from
// http://control.discord.test/keys, and the calls from /calls?token=… .
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type Request, Response } from 'miniflare';
import nacl from 'tweetnacl';
import {
  SERVER_BLOCKED_TERM,
  SERVER_RULE_NAME,
  SMALL_SERVER_LIMIT,
  STRICT_MAX_STEPS,
  STRICT_NEGATIVE_PROMPT,
  TEST_DISCORD_API_BASE,
  TEST_DISCORD_APPLICATION_ID,
  TEST_DISCORD_BOT_TOKEN,
  TEST_GUILDS,
} from './fake-discord-ids.ts';
import type { DiscordCall as RecordedCall } from './fake-discord-interactions.ts';
import { Commands, checkMessage } from './fake-discord-shapes.ts';
import {
  attachmentsAfter,
  readMultipart,
  type StoredAttachment,
  type UploadedFile,
} from './fake-discord-uploads.ts';

const keyPair = nacl.sign.keyPair();
const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');

/** Vars and secrets for the Worker under test (vitest.config.ts spreads them into its bindings). */
export const FAKE_DISCORD_BINDINGS = {
  DISCORD_PUBLIC_KEY: hex(keyPair.publicKey),
  DISCORD_APPLICATION_ID: TEST_DISCORD_APPLICATION_ID,
  DISCORD_API_BASE: TEST_DISCORD_API_BASE,
  DISCORD_SERVERS: [
    { guild_id: TEST_GUILDS.strict, negative_prompt: STRICT_NEGATIVE_PROMPT, max_steps: STRICT_MAX_STEPS },
    { guild_id: TEST_GUILDS.small, rate_limit: SMALL_SERVER_LIMIT },
    {
      guild_id: TEST_GUILDS.nsfwAllowed,
      unfiltered_nsfw_channels: true,
      prompt_rules: [{ name: SERVER_RULE_NAME, terms: [SERVER_BLOCKED_TERM] }],
    },
    // Typed as Miniflare's JSON bindings accept: a union with optional keys is not JSON to it.
  ] as Record<string, string | number | boolean | { name: string; terms: string[] }[]>[],
};

/** A call as recorded; its body stays `unknown` until a test reads it as a message. */
export type DiscordCall = RecordedCall<unknown>;

const calls: DiscordCall[] = [];
const rateLimited = new Set<string>();
/** Each interaction's reply (@original): the attachments it has now. */
const originals = new Map<string, StoredAttachment[]>();

export function discordCalls(): readonly DiscordCall[] {
  return calls;
}

// ---- The API ----------------------------------------------------------------------------------

export interface FakeRequest {
  method: string;
  url: URL;
  headers: Headers;
  /** The raw bytes: a multipart body carries binary files. */
  body: Uint8Array;
}

interface FakeResponse {
  status: number;
  json?: unknown;
  headers?: Record<string, string>;
}

let nextId = 1_300_000_000_000_000_000n;
const snowflake = () => String(nextId++);
const SLOW_ANSWER_MS = 2500;

const WEBHOOK = /^\/api\/v10\/webhooks\/(\d+)\/([^/]+)(?:\/messages\/(@original))?$/;
const COMMANDS = /^\/api\/v10\/applications\/(\d+)(?:\/guilds\/(\d+))?\/commands$/;

function jsonBody(request: FakeRequest, problems: string[]): unknown {
  if (request.headers.get('Content-Type') !== 'application/json') {
    problems.push(`Content-Type must be application/json, not ${request.headers.get('Content-Type')}`);
  }
  try {
    return JSON.parse(new TextDecoder().decode(request.body));
  } catch {
    problems.push('the body is not JSON');
    return undefined;
  }
}

/** A message body: JSON, or multipart/form-data with files. */
async function messageBody(
  request: FakeRequest,
  problems: string[],
): Promise<{ payload: unknown; files: Map<string, UploadedFile> }> {
  const contentType = request.headers.get('Content-Type') ?? '';
  if (contentType.toLowerCase().startsWith('multipart/form-data')) {
    return readMultipart(contentType, request.body, problems);
  }
  return { payload: jsonBody(request, problems), files: new Map() };
}

function rateLimit(token: string): FakeResponse | undefined {
  if (!token.startsWith('ratelimited-') || rateLimited.has(token)) return undefined;
  rateLimited.add(token);
  const seconds = token.startsWith('ratelimited-long-') ? 3 : 0.05;
  return {
    status: 429,
    json: { message: 'You are being rate limited.', retry_after: seconds, global: false },
    headers: { 'Retry-After': String(Math.ceil(seconds)), 'X-RateLimit-Scope': 'user' },
  };
}

async function webhook(
  request: FakeRequest,
  call: DiscordCall,
  match: RegExpExecArray,
): Promise<FakeResponse> {
  const [, applicationId, token, original] = match;
  call.token = token;
  if (applicationId !== TEST_DISCORD_APPLICATION_ID || token.startsWith('expired-')) {
    return { status: 404, json: { message: 'Unknown Webhook', code: 10015 } };
  }
  if (request.headers.has('Authorization')) {
    call.problems.push('an interaction webhook call must not carry an Authorization header');
  }
  const route = `${request.method} ${original ? '@original' : 'webhook'}`;
  if (route === 'DELETE @original') return rateLimit(token) ?? { status: 204 };
  if (route !== 'PATCH @original' && route !== 'POST webhook') {
    return { status: 405, json: { message: '405: Method Not Allowed', code: 0 } };
  }
  // Read before the rate limit, so that a refused call still shows what it carried.
  const bodyProblems: string[] = [];
  const { payload, files } = await messageBody(request, bodyProblems);
  call.body = payload;
  if (files.size > 0) call.files = [...files.values()];
  const limited = rateLimit(token);
  if (limited) return limited;
  call.problems.push(...bodyProblems);
  const { problems, message } = checkMessage(payload);
  call.problems.push(...problems);
  const edit = route === 'PATCH @original';
  const attachments = message
    ? attachmentsAfter(message, files, edit ? (originals.get(token) ?? []) : [], snowflake, call.problems)
    : [];
  if (call.problems.length > 0) return { status: 400 };
  if (edit) {
    originals.set(token, attachments);
    call.message_attachments = attachments.map((a) => a.filename);
  }
  return {
    status: 200,
    json: {
      id: snowflake(),
      channel_id: '1',
      type: 0,
      ...(payload as object),
      attachments: attachments.map((a) => ({
        ...a,
        url: `https://cdn.discord.test/attachments/1/${a.id}/${a.filename}`,
      })),
    },
  };
}

function commands(request: FakeRequest, call: DiscordCall, match: RegExpExecArray): FakeResponse {
  if (request.headers.get('Authorization') !== `Bot ${TEST_DISCORD_BOT_TOKEN}`) {
    return { status: 401, json: { message: '401: Unauthorized', code: 0 } };
  }
  if (match[1] !== TEST_DISCORD_APPLICATION_ID)
    return { status: 404, json: { message: 'Unknown Application', code: 10002 } };
  if (request.method !== 'PUT') return { status: 405, json: { message: '405: Method Not Allowed', code: 0 } };
  call.body = jsonBody(request, call.problems);
  const parsed = Commands.safeParse(call.body);
  if (!parsed.success)
    call.problems.push(...parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`));
  if (call.problems.length > 0) return { status: 400 };
  const guild = match[2];
  return {
    status: 200,
    json: (call.body as object[]).map((command) => ({
      id: snowflake(),
      application_id: match[1],
      version: snowflake(),
      ...(guild ? { guild_id: guild } : {}),
      ...command,
    })),
  };
}

function headerRecord(headers: Headers): Record<string, string> {
  const record: Record<string, string> = {};
  headers.forEach((value, name) => {
    record[name] = value;
  });
  return record;
}

export async function handleDiscordRequest(request: FakeRequest): Promise<FakeResponse> {
  const call: DiscordCall = {
    at: Date.now(),
    method: request.method,
    path: request.url.pathname,
    headers: headerRecord(request.headers),
    status: 0,
    problems: [],
  };
  calls.push(call);
  if (!/^DiscordBot \(https?:\/\/[^,\s]+, [^)\s]+\)$/.test(request.headers.get('User-Agent') ?? '')) {
    call.problems.push(
      `User-Agent must be "DiscordBot ($url, $version)", not ${request.headers.get('User-Agent')}`,
    );
  }
  const hook = WEBHOOK.exec(request.url.pathname);
  const command = COMMANDS.exec(request.url.pathname);
  let response: FakeResponse = hook
    ? await webhook(request, call, hook)
    : command
      ? commands(request, call, command)
      : { status: 404, json: { message: '404: Not Found', code: 0 } };
  if (call.problems.length > 0 && response.status < 300) response = { status: 400 };
  if (response.status === 400 && response.json === undefined) {
    response.json = { message: 'Invalid Form Body', code: 50035, errors: call.problems };
  }
  call.status = response.status;
  if (call.token?.startsWith('slow-')) await new Promise((resolve) => setTimeout(resolve, SLOW_ANSWER_MS));
  call.answered_at = Date.now();
  return response;
}

// ---- Adapters ---------------------------------------------------------------------------------

function control(url: URL): unknown {
  if (url.pathname === '/keys') return { secret_key: hex(keyPair.secretKey) };
  const token = url.searchParams.get('token');
  return calls.filter((c) => token === null || c.token === token);
}

function miniflareResponse({ status, json, headers }: FakeResponse): Response {
  return new Response(status === 204 || json === undefined ? null : JSON.stringify(json), {
    status,
    headers: { ...(json === undefined ? {} : { 'Content-Type': 'application/json' }), ...headers },
  });
}

/** Miniflare's outbound service: Discord's hosts here, every other fetch to `next`. */
export function withFakeDiscord(next: (request: Request) => Promise<Response>) {
  return async (request: Request): Promise<Response> => {
    const url = new URL(request.url);
    if (url.hostname === 'control.discord.test') {
      return new Response(JSON.stringify(control(url)), { headers: { 'Content-Type': 'application/json' } });
    }
    if (url.hostname !== 'discord.test') return next(request);
    const body = new Uint8Array(await request.arrayBuffer());
    return miniflareResponse(
      await handleDiscordRequest({
        method: request.method,
        url,
        headers: new Headers(request.headers),
        body,
      }),
    );
  };
}

/** The same fake on a loopback port, for clients outside Miniflare: infra/discord/register-commands.ts,
 * and the edge under `wrangler dev` in test/e2e/discord.e2e.test.ts. */
export async function startFakeDiscordServer(): Promise<{ apiBase: string; close: () => Promise<void> }> {
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', async () => {
      const headers = new Headers();
      for (const [name, value] of Object.entries(req.headers)) {
        if (typeof value === 'string') headers.set(name, value);
      }
      const url = new URL(req.url ?? '/', 'http://127.0.0.1');
      const answer = await handleDiscordRequest({
        method: req.method ?? 'GET',
        url,
        headers,
        body: new Uint8Array(Buffer.concat(chunks)),
      });
      res.writeHead(answer.status, {
        ...(answer.json === undefined ? {} : { 'Content-Type': 'application/json' }),
        ...answer.headers,
      });
      res.end(answer.json === undefined ? undefined : JSON.stringify(answer.json));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    apiBase: `http://127.0.0.1:${port}/api/v10`,
    close: () =>
      new Promise((resolve, reject) => server.close((error) => (error ? reject(error) : resolve()))),
  };
}
