// The Discord bot end to end: the local stack `npm start` runs (infra/dev/stack.ts), the real
// gpu-worker on CPU with the bundled model behind the edge under `wrangler dev`, and Discord played
// by the fake Discord REST API (edge/test/node/fake-discord.ts) on a loopback port, which records
// every call and refuses any that Discord would (route, User-Agent, no credentials but the
// interaction token, message shape and limits). Interactions are built as Discord sends them
// (edge/test/node/fake-discord-interactions.ts) and signed with tweetnacl under a key pair made
// here, whose public half the edge gets as DISCORD_PUBLIC_KEY. Every job goes through the edge's
// local Queue to the real gpu-worker; the images the messages show are fetched from the edge. A
// job longer than DISCORD_PROGRESS_INTERVAL_MS (1 s here) also edits the reply with its progress
// and real preview frames before the image.
import sharp from 'sharp';
import nacl from 'tweetnacl';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { discordCalls, startFakeDiscordServer } from '../../edge/test/node/fake-discord.ts';
import {
  TEST_DISCORD_APPLICATION_ID,
  TEST_DISCORD_BOT_TOKEN,
} from '../../edge/test/node/fake-discord-ids.ts';
import {
  buttonInteraction,
  buttonsOf,
  type DiscordCall,
  imagineInteraction,
  interactionClient,
  isProgressEdit,
  messageFrom,
  newUserId,
  pingInteraction,
  toHex,
  waitForCalls,
  waitForDelivery,
} from '../../edge/test/node/fake-discord-interactions.ts';
import { readPngText } from '../../gpu-worker/src/image/png-text.ts';
import { metricValue } from '../support/gpu-worker-process.ts';
import { startTestStack, type TestStack } from '../support/local-stack.ts';
import { endsWithIend, pngSize } from '../support/png.ts';

/** A real job on 2 shared cores (queue, CPU inference, R2, the edit) may take this long. */
const JOB_MS = 120_000;
/** The first retry's delay (DISCORD_RETRY_SECONDS), short so the failure flow's four retries take 15 s. */
const RETRY_SECONDS = 1;
/** Discord job retries while every gpu-worker is down: 1 + 2 + 4 + 8 s (run-discord-job.ts). */
const RETRIES_MS = 15_000;
const WEBHOOKS = `/api/v10/webhooks/${TEST_DISCORD_APPLICATION_ID}`;
/** The least time between two progress edits of a reply (the edge's minimum). */
const PROGRESS_INTERVAL_MS = 1000;

const keyPair = nacl.sign.keyPair();
let fake: Awaited<ReturnType<typeof startFakeDiscordServer>>;
let env: TestStack;
let edge: string;
let client: ReturnType<typeof interactionClient>;
/** Tokens of interactions the edge refused: nothing may ever reach Discord with them. */
const refusedTokens: string[] = [];

beforeAll(async () => {
  fake = await startFakeDiscordServer();
  env = await startTestStack({
    edgeVars: {
      DISCORD_PUBLIC_KEY: toHex(keyPair.publicKey),
      DISCORD_APPLICATION_ID: TEST_DISCORD_APPLICATION_ID,
      // Set as a deployment would; the edge must never send it on interaction webhooks.
      DISCORD_BOT_TOKEN: TEST_DISCORD_BOT_TOKEN,
      DISCORD_API_BASE: fake.apiBase,
      DISCORD_PROGRESS_INTERVAL_MS: String(PROGRESS_INTERVAL_MS),
      DISCORD_RETRY_SECONDS: String(RETRY_SECONDS),
    },
  });
  edge = env.info.edgeUrl;
  client = interactionClient({
    url: `${edge}/discord/interactions`,
    secretKey: () => keyPair.secretKey,
    fetch: (url, init) => fetch(url, init),
  });
});

afterAll(async () => {
  await env?.close();
  await fake?.close();
});

function recordedFor(token: string): DiscordCall[] {
  return discordCalls().filter((call) => call.token === token) as DiscordCall[];
}

/** A wait that failed says what the stack last logged. */
async function withStackLogs<T>(waiting: Promise<T>): Promise<T> {
  try {
    return await waiting;
  } catch (error) {
    const logs = env.logs().split('\n').slice(-40).join('\n');
    throw new Error(`${(error as Error).message}\n--- stack output ---\n${logs}`);
  }
}

/** Waits for `count` calls to the fake Discord with this interaction's token. */
function callsFor(token: string, timeoutMs = JOB_MS, count = 1): Promise<DiscordCall[]> {
  return withStackLogs(waitForCalls(() => recordedFor(token), { count, timeoutMs, what: `token ${token}` }));
}

/** Every call with this token up to the one delivering the job (past any progress edits). */
function deliveryFor(token: string, timeoutMs = JOB_MS): Promise<DiscordCall[]> {
  return withStackLogs(waitForDelivery(() => recordedFor(token), { timeoutMs, what: `token ${token}` }));
}

/** What the fake Discord checks, plus: the bot token never travels on interaction webhooks. */
function expectAccepted(call: DiscordCall, method: string, path: string, status: number) {
  expect(call.problems).toEqual([]);
  expect({ method: call.method, path: call.path, status: call.status }).toEqual({ method, path, status });
  expect(call.headers.authorization).toBeUndefined();
  expect(JSON.stringify(call)).not.toContain(TEST_DISCORD_BOT_TOKEN);
  expect(call.headers['user-agent']).toMatch(new RegExp(`^DiscordBot \\(${edge}, \\d+\\.\\d+\\.\\d+\\)$`));
  expect(call.headers['content-type']).toBe(call.body === undefined ? undefined : 'application/json');
}

function field(call: DiscordCall, name: string): string | undefined {
  return call.body?.embeds?.[0]?.fields?.find((f) => f.name === name)?.value;
}

function imageUrls(call: DiscordCall): string[] {
  return (call.body?.embeds ?? []).map((embed) => embed.image?.url ?? '');
}

/** Fetches an image URL a message shows, from the edge: a whole 64×64 PNG. */
async function fetchPng(url: string): Promise<{ png: Uint8Array; parameters: string[] }> {
  expect(url.startsWith(`${edge}/i/`) && /\/[0-9a-f]{64}\.png$/.test(url), url).toBe(true);
  const response = await fetch(url);
  expect(response.status).toBe(200);
  expect(response.headers.get('Content-Type')).toBe('image/png');
  const png = new Uint8Array(await response.arrayBuffer());
  expect(pngSize(png)).toEqual({ width: 64, height: 64 }); // throws unless the PNG signature is there
  expect(endsWithIend(png)).toBe(true);
  // AUTOMATIC1111's infotext: the prompt as typed, then the settings line.
  return { png, parameters: readPngText(png).parameters?.split('\n') ?? [] };
}

/** Clicks the button labelled `label` under the message `from` left. */
async function click(from: DiscordCall, label: string, userId: string) {
  const customId = buttonsOf(from).actions.get(label);
  expect(customId, `a "${label}" button`).toBeDefined();
  const interaction = buttonInteraction(customId ?? '', messageFrom(from), { userId });
  const { response, body } = await client.interact(interaction);
  expect(response.status).toBe(200);
  return { token: interaction.token, body };
}

const gpuMetric = (name: string) => metricValue(env.info.gpuUrl, name);

const DEFERRED_REPLY = { type: 5 }; // DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE
const DEFERRED_UPDATE = { type: 6 }; // DEFERRED_UPDATE_MESSAGE
// Markup in the prompt: the share page must escape it, the embed shows it as typed.
const PROMPT = 'a paper boat <on> still water & ink';
const owner = newUserId();
let original: DiscordCall;
let originalPng: Uint8Array;

describe('the Discord bot on the local stack', () => {
  it('answers a signed PING with a PONG', async () => {
    const { response, body } = await client.interact(pingInteraction());
    expect(response.status).toBe(200);
    expect(response.headers.get('Content-Type')).toMatch(/^application\/json/);
    expect(body).toEqual({ type: 1 });
  });

  it('returns 401 for a missing, foreign, tampered, stale or future signature', async () => {
    const expect401 = async (response: Response, message: string) => {
      expect(response.status).toBe(401);
      const { error } = (await response.json()) as { error: { code: string; message: string } };
      expect(error.code).toBe('invalid_signature');
      expect(error.message).toContain(message);
    };
    // /imagine, so that any of them getting through would show as a job and a Discord call.
    const body = () => {
      const interaction = imagineInteraction({ prompt: 'an unsigned boat', steps: 4 });
      refusedTokens.push(interaction.token);
      return JSON.stringify(interaction);
    };
    const now = Math.floor(Date.now() / 1000);
    await expect401(await client.postInteractionBody(body(), { headers: {} }), 'missing');
    const other = nacl.sign.keyPair().secretKey;
    await expect401(await client.postInteractionBody(body(), { secretKey: other }), 'does not match');
    const signed = body();
    const headers = await client.signedHeaders(signed);
    await expect401(
      await client.postInteractionBody(signed.replace('an unsigned boat', 'a signed boat'), { headers }),
      'does not match',
    );
    await expect401(await client.postInteractionBody(body(), { timestamp: now - 600 }), 'stale');
    await expect401(await client.postInteractionBody(body(), { timestamp: now + 600 }), 'stale');
  });

  it('defers /imagine at once; the real gpu-worker makes the image and the reply is edited with it', async () => {
    const imagesBefore = await gpuMetric('latent_edge_images_total');
    const interaction = imagineInteraction({ prompt: PROMPT, seed: 500, steps: 4 }, { userId: owner });
    const { response, body } = await client.interact(interaction);
    expect(response.status).toBe(200);
    expect(body).toEqual(DEFERRED_REPLY);
    // The answer came before the job ran: Discord has heard nothing else yet.
    expect(recordedFor(interaction.token)).toEqual([]);

    // A slow machine may show progress first; the image is the last edit.
    original = (await deliveryFor(interaction.token)).at(-1) as DiscordCall;
    expectAccepted(original, 'PATCH', `${WEBHOOKS}/${interaction.token}/messages/@original`, 200);
    expect(original.body?.attachments).toEqual([]);
    expect(original.body?.content).toBe(`<@${owner}>`);
    expect(original.body?.allowed_mentions).toEqual({ parse: [] });
    const embed = original.body?.embeds?.[0];
    expect(embed?.title).toBe(PROMPT);
    expect(embed?.description).toBe('a paper boat <on\\> still water & ink'); // Markdown escaped
    expect(field(original, 'Seed')).toBe('500');
    expect(field(original, 'Size')).toBe('64×64');
    expect(field(original, 'Steps')).toBe('4');

    const [url] = imageUrls(original);
    const { png, parameters } = await fetchPng(url);
    originalPng = png;
    expect(parameters[0]).toBe(PROMPT);
    expect(parameters[1]).toMatch(/^Steps: 4, Sampler: [^,]+, CFG scale: 7\.5, Seed: 500, Size: 64x64, /);
    expect(await gpuMetric('latent_edge_images_total')).toBe(imagesBefore + 1);
  });

  it('edits the reply of a longer job with step i/N and real preview frames, once per interval at most', async () => {
    const prompt = 'a lighthouse in a slow storm';
    const interaction = imagineInteraction(
      { prompt, seed: 7, size: '256x256', steps: 50 },
      { userId: owner },
    );
    const sentAt = Date.now();
    const { body } = await client.interact(interaction);
    expect(body).toEqual(DEFERRED_REPLY);
    const calls = await deliveryFor(interaction.token);
    const progress = calls.filter(isProgressEdit);
    const final = calls.at(-1) as DiscordCall;

    // Progress edits, then the image, last.
    expect(progress.length).toBeGreaterThanOrEqual(1);
    expect(calls.slice(0, -1)).toEqual(progress);
    const route = `${WEBHOOKS}/${interaction.token}/messages/@original`;
    for (const call of progress) {
      expect(call.problems).toEqual([]);
      expect({ method: call.method, path: call.path, status: call.status }).toEqual({
        method: 'PATCH',
        path: route,
        status: 200,
      });
      expect(call.headers.authorization).toBeUndefined();
      expect(call.body?.embeds?.[0]?.description).toMatch(/^⏳ (Step \d+\/50|Queued|Starting)/);
    }
    // Spaced by at least the interval, the first one interval after the job was asked for.
    expect(progress[0].at - sentAt).toBeGreaterThanOrEqual(PROGRESS_INTERVAL_MS);
    for (let i = 1; i < progress.length; i++) {
      expect(progress[i].at - progress[i - 1].at).toBeGreaterThanOrEqual(PROGRESS_INTERVAL_MS);
    }

    // At least one carries the gpu-worker's preview frame: a WebP that decodes, at the image's size.
    const frames = progress.flatMap((call) => call.files ?? []);
    expect(frames.length).toBeGreaterThanOrEqual(1);
    for (const frame of frames) {
      expect(frame).toMatchObject({
        field: 'files[0]',
        filename: 'preview.webp',
        content_type: 'image/webp',
      });
      const { data, info } = await sharp(Buffer.from(frame.base64, 'base64'))
        .raw()
        .toBuffer({ resolveWithObject: true });
      expect({ width: info.width, height: info.height }).toEqual({ width: 256, height: 256 });
      expect(data.length).toBe(256 * 256 * info.channels);
    }

    // The image replaces the preview: no attachment is left, only our URL.
    expectAccepted(final, 'PATCH', route, 200);
    expect(final.body?.attachments).toEqual([]);
    expect(final.message_attachments).toEqual([]);
    expect(field(final, 'Steps')).toBe('50');
    const [url] = imageUrls(final);
    const response = await fetch(url);
    expect(response.status).toBe(200);
    expect(pngSize(new Uint8Array(await response.arrayBuffer()))).toEqual({ width: 256, height: 256 });
  });

  it('Re-roll posts the same request with a new seed as a new message', async () => {
    const clicker = newUserId();
    const { token, body } = await click(original, 'Re-roll', clicker);
    expect(body).toEqual(DEFERRED_UPDATE);
    const [followUp] = await callsFor(token);
    expectAccepted(followUp, 'POST', `${WEBHOOKS}/${token}`, 200);
    expect(followUp.body?.flags).toBeUndefined();
    expect(followUp.body?.embeds?.[0]?.title).toBe(PROMPT);
    const seed = field(followUp, 'Seed') ?? '';
    expect(seed).toMatch(/^\d+$/);
    expect(seed).not.toBe('500');
    // The new message is the clicker's: its Delete button obeys them.
    expect(buttonsOf(followUp).actions.get('Delete')).toBe(`delete:${clicker}`);

    const { png, parameters } = await fetchPng(imageUrls(followUp)[0]);
    expect(parameters[0]).toBe(PROMPT);
    expect(parameters[1]).toContain(`Seed: ${seed}, Size: 64x64`);
    expect(png).not.toEqual(originalPng);
  });

  it('Variations makes four images with four new consecutive seeds in one job', async () => {
    const jobsBefore = await gpuMetric('latent_edge_jobs_total');
    const imagesBefore = await gpuMetric('latent_edge_images_total');
    const { token, body } = await click(original, 'Variations', newUserId());
    expect(body).toEqual(DEFERRED_UPDATE);
    const [followUp] = await callsFor(token);
    expectAccepted(followUp, 'POST', `${WEBHOOKS}/${token}`, 200);
    const seeds = (field(followUp, 'Seeds') ?? '').split(', ').map(Number);
    expect(seeds).toHaveLength(4);
    expect(seeds).toEqual([seeds[0], seeds[0] + 1, seeds[0] + 2, seeds[0] + 3]);
    expect(seeds).not.toContain(500);

    const urls = imageUrls(followUp);
    expect(new Set(urls).size).toBe(4);
    const pngs: Uint8Array[] = [];
    for (const [i, url] of urls.entries()) {
      const { png, parameters } = await fetchPng(url);
      expect(parameters[1]).toContain(`Seed: ${seeds[i]}, Size: 64x64`);
      pngs.push(png);
    }
    expect(new Set(pngs.map((png) => toHex(png))).size).toBe(4);
    expect(await gpuMetric('latent_edge_jobs_total')).toBe(jobsBefore + 1);
    expect(await gpuMetric('latent_edge_images_total')).toBe(imagesBefore + 4);
  });

  it('Same seed shows the same image again, from the cache, without a gpu-worker job', async () => {
    const jobsBefore = await gpuMetric('latent_edge_jobs_total');
    const { token, body } = await click(original, 'Same seed', newUserId());
    expect(body).toEqual(DEFERRED_UPDATE);
    const [followUp] = await callsFor(token);
    expectAccepted(followUp, 'POST', `${WEBHOOKS}/${token}`, 200);
    expect(field(followUp, 'Seed')).toBe('500');
    expect(imageUrls(followUp)).toEqual(imageUrls(original));
    expect((await fetchPng(imageUrls(followUp)[0])).png).toEqual(originalPng);
    expect(await gpuMetric('latent_edge_jobs_total')).toBe(jobsBefore);
  });

  it('Zoom out outpaints the image to 1.5× with the real gpu-worker, the picture itself in the middle', async () => {
    const { token, body } = await click(original, 'Zoom out', newUserId());
    expect(body).toEqual(DEFERRED_UPDATE);
    const [followUp] = await callsFor(token);
    expectAccepted(followUp, 'POST', `${WEBHOOKS}/${token}`, 200);
    const url = imageUrls(followUp)[0];
    expect(url).toMatch(/\/i\/[0-9a-f]{64}\.png$/);
    const zoomed = new Uint8Array(await (await fetch(url)).arrayBuffer());
    expect(pngSize(zoomed)).toEqual({ width: 96, height: 96 });
    // The original sits at (16, 16); past the default mask_blur's reach (4 px, 3σ ≈ 12 px) of
    // the new border, every pixel is the original's own.
    const rgb = async (png: Uint8Array) =>
      new Uint8Array(await sharp(Buffer.from(png)).removeAlpha().raw().toBuffer());
    const [before, after] = [await rgb(originalPng), await rgb(zoomed)];
    let compared = 0;
    for (let y = 12; y < 52; y++)
      for (let x = 12; x < 52; x++)
        for (let c = 0; c < 3; c++) {
          expect(after[((y + 16) * 96 + x + 16) * 3 + c]).toBe(before[(y * 64 + x) * 3 + c]);
          compared++;
        }
    expect(compared).toBe(40 * 40 * 3);
    // The zoomed image has its own Zoom out.
    expect(buttonsOf(followUp).actions.get('Zoom out')).toMatch(/^zoom:[0-9a-f]{64}$/);
  });

  it('Share links to the /p/ page, which shows the image and the prompt HTML-escaped', async () => {
    const share = buttonsOf(original).links.get('Share') ?? '';
    const key = /\/i\/([0-9a-f]{64})\.png$/.exec(imageUrls(original)[0])?.[1];
    expect(share).toBe(`${edge}/p/${key}`);
    const response = await fetch(share);
    expect(response.status).toBe(200);
    expect(response.headers.get('Content-Type')).toMatch(/^text\/html/);
    const page = await response.text();
    expect(page).toContain('a paper boat &lt;on&gt; still water &amp; ink');
    expect(page).not.toContain('<on>');
    expect(page).toContain(`<meta property="og:image" content="${imageUrls(original)[0]}">`);
  });

  it('Delete is refused, to them alone, for anyone but the user who asked', async () => {
    const { token, body } = await click(original, 'Delete', newUserId());
    refusedTokens.push(token);
    expect(body).toEqual({
      type: 4, // CHANNEL_MESSAGE_WITH_SOURCE
      data: {
        content: `Only <@${owner}> can delete this image.`,
        flags: 64,
        allowed_mentions: { parse: [] },
      },
    });
  });

  it('Delete removes the message for the user who asked, through the fake Discord API', async () => {
    const { token, body } = await click(original, 'Delete', owner);
    expect(body).toEqual(DEFERRED_UPDATE);
    const [removal] = await callsFor(token);
    expectAccepted(removal, 'DELETE', `${WEBHOOKS}/${token}/messages/@original`, 204);
    expect(removal.body).toBeUndefined();
  });

  it('answers a prompt the service refuses at once, to the user alone, and queues nothing', async () => {
    const jobsBefore = await gpuMetric('latent_edge_jobs_total');
    const interaction = imagineInteraction({ prompt: '(a paper boat:1.2.3)', steps: 4 });
    refusedTokens.push(interaction.token);
    const { response, body } = await client.interact(interaction);
    expect(response.status).toBe(200);
    expect(body).toEqual({
      type: 4,
      data: {
        content: '❌ prompt: the attention weight "1.2.3" is not a number: write a weight like (word:1.2)',
        flags: 64,
        allowed_mentions: { parse: [] },
      },
    });
    expect(await gpuMetric('latent_edge_jobs_total')).toBe(jobsBefore);
  });

  it(
    'edits the reply with a readable reason when the gpu-worker is gone, after the queue retries',
    async () => {
      await env.stack.killGpuWorker();
      const interaction = imagineInteraction({ prompt: 'a boat in a storm', steps: 4 });
      const askedAt = Date.now();
      const { body } = await client.interact(interaction);
      expect(body).toEqual(DEFERRED_REPLY);

      const calls = await callsFor(interaction.token, RETRIES_MS + JOB_MS);
      const [edit] = calls;
      // After the four retries' delays, as DISCORD_RETRY_SECONDS sets them (the default 5 s: 75 s).
      expect(edit.at - askedAt).toBeGreaterThanOrEqual(RETRIES_MS);
      expect(edit.at - askedAt).toBeLessThan(60_000);
      expectAccepted(edit, 'PATCH', `${WEBHOOKS}/${interaction.token}/messages/@original`, 200);
      expect(edit.body).toEqual({
        content:
          '⚠️ Could not make this image: every GPU is busy or unreachable right now; please try again in a few minutes.',
        embeds: [],
        components: [],
        allowed_mentions: { parse: [] },
        attachments: [],
      });
      // One edit, after the retries; the gpu-worker's address stays in the logs.
      expect(calls).toHaveLength(1);
      expect(JSON.stringify(edit.body)).not.toContain('127.0.0.1');
    },
    RETRIES_MS + JOB_MS + 30_000,
  );

  it('sent nothing to Discord for any interaction it refused', () => {
    // Runs last, after the retried job: anything queued by mistake would have been delivered.
    expect(refusedTokens).toHaveLength(7);
    for (const token of refusedTokens) expect(recordedFor(token), token).toEqual([]);
  });
});
