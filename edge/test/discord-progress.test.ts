// /imagine's progress inside workerd: a slow job on the fake gpu-worker (`step-delay-<ms>` in the
// prompt: that long per step, with its event stream) runs through the real local Queue, and the
// fake Discord API records each edit of the reply with the time it arrived and was answered, and
// the files it uploaded. Progress edits show step i/N and the latest preview as a WebP attachment,
// come at most once per DISCORD_PROGRESS_INTERVAL_MS (1000 in vitest.config.ts) and never two at
// a time; the image is the last edit and removes the preview; a rate-limited progress edit is
// waited out and fails nothing.
import { env } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { edgeConfig } from '../src/config/edge-config.ts';
import { InteractionResponseType } from '../src/discord/discord-constants.ts';
import { gpuCalls, uniquePrompt } from './support/api.ts';
import {
  buttonInteraction,
  buttonsOf,
  type DiscordCall,
  discordCalls,
  imagineInteraction,
  interact,
  isProgressEdit,
  messageFrom,
  TEST_DISCORD_APPLICATION_ID,
  waitForDelivery,
} from './support/discord.ts';

const INTERVAL_MS = edgeConfig(env).DISCORD_PROGRESS_INTERVAL_MS;
const IMAGE_URL = /^https:\/\/edge\.test\/i\/[0-9a-f]{64}\.png$/;

function stepOf(call: DiscordCall): { step: number; steps: number } {
  const match = /^⏳ Step (\d+)\/(\d+)/.exec(call.body?.embeds?.[0]?.description ?? '');
  expect(match, call.body?.embeds?.[0]?.description).not.toBeNull();
  return { step: Number(match?.[1]), steps: Number(match?.[2]) };
}

const bytesOf = (base64: string) => Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
const ascii = (bytes: Uint8Array) => String.fromCharCode(...bytes);

/** Sends /imagine for a slow job and returns every call up to the one delivering the image. */
async function imagineSlowly(prompt: string, steps: number, token?: string) {
  const interaction = imagineInteraction({ prompt, steps, seed: 42 }, { token });
  const sentAt = Date.now();
  const { body } = await interact(interaction);
  expect(body?.type).toBe(InteractionResponseType.DeferredChannelMessageWithSource);
  const calls = await waitForDelivery(interaction.token);
  return { sentAt, calls, progress: calls.filter(isProgressEdit), final: calls[calls.length - 1] };
}

function expectImage(final: DiscordCall) {
  expect(isProgressEdit(final)).toBe(false);
  expect(final.problems).toEqual([]);
  expect(final.status).toBe(200);
  expect(final.headers['content-type']).toBe('application/json');
  expect(final.body?.embeds?.[0]?.image?.url).toMatch(IMAGE_URL);
  // The preview is gone: the edit lists no attachments, and the reply keeps none.
  expect(final.body?.attachments).toEqual([]);
  expect(final.message_attachments).toEqual([]);
}

// Each test waits for a job of a few seconds, and its edits.
describe('/imagine progress', { timeout: 30_000 }, () => {
  it('edits the reply with step i/N and the latest preview, at most once per interval, then with the image', async () => {
    const prompt = uniquePrompt('a slow sunrise step-delay-150');
    const { sentAt, calls, progress, final } = await imagineSlowly(prompt, 24);

    // Progress first, the image last and once.
    expect(progress.length).toBeGreaterThanOrEqual(2);
    expect(calls.slice(0, -1)).toEqual(progress);
    expectImage(final);

    // Spaced by the interval, the first one interval after the job was asked for.
    expect(progress[0].at - sentAt).toBeGreaterThanOrEqual(INTERVAL_MS);
    for (let i = 1; i < progress.length; i++) {
      expect(progress[i].at - progress[i - 1].at).toBeGreaterThanOrEqual(INTERVAL_MS);
    }

    // Step i of 24, moving forward.
    const steps = progress.map(stepOf);
    for (const [i, { step, steps: total }] of steps.entries()) {
      expect(total).toBe(24);
      if (i > 0) expect(step).toBeGreaterThanOrEqual(steps[i - 1].step);
    }

    // The latest preview, uploaded with the edit and shown by its embed.
    const withPreview = progress.filter((call) => call.files);
    expect(withPreview.length).toBeGreaterThan(0);
    for (const call of withPreview) {
      expect(call.problems).toEqual([]);
      expect(call.status).toBe(200);
      expect(call.headers['content-type']).toMatch(/^multipart\/form-data; boundary=/);
      expect(call.body?.attachments).toEqual([{ id: 0, filename: 'preview.webp' }]);
      expect(call.body?.embeds?.[0]?.image?.url).toBe('attachment://preview.webp');
      expect(call.body?.components).toEqual([]);
      expect(call.files).toHaveLength(1);
      const [file] = call.files ?? [];
      expect(file).toMatchObject({ field: 'files[0]', filename: 'preview.webp', content_type: 'image/webp' });
      const bytes = bytesOf(file.base64);
      expect(file.size).toBe(bytes.length);
      expect(ascii(bytes.subarray(0, 4))).toBe('RIFF');
      expect(ascii(bytes.subarray(8, 12))).toBe('WEBP');
      expect(call.message_attachments).toEqual(['preview.webp']);
    }

    // Previews were asked for about every steps/8 steps.
    const [job] = await gpuCalls(prompt);
    expect(job.preview_every).toBe(3);
  });

  it('never has two edits in flight: each waits for the answer to the one before, the image too', async () => {
    // The fake Discord takes 2.5 s to answer each call with a `slow-` token.
    const token = `slow-${crypto.randomUUID()}`;
    const { calls, progress, final } = await imagineSlowly(
      uniquePrompt('a slow tide step-delay-150'),
      36,
      token,
    );
    expect(progress.length).toBeGreaterThanOrEqual(2);
    expectImage(final);
    for (let i = 1; i < calls.length; i++) {
      expect(calls[i].at).toBeGreaterThanOrEqual(calls[i - 1].answered_at ?? Number.POSITIVE_INFINITY);
    }
    // The interval counts from Discord's answer.
    for (let i = 1; i < progress.length; i++) {
      expect(progress[i].at - (progress[i - 1].answered_at ?? 0)).toBeGreaterThanOrEqual(INTERVAL_MS);
    }
  });

  it('goes on after a progress edit is rate limited, editing nothing until retry_after has passed', async () => {
    // The fake Discord answers the first call with a 429 and retry_after 3 s.
    const token = `ratelimited-long-${crypto.randomUUID()}`;
    const { calls, final } = await imagineSlowly(uniquePrompt('a patient heron step-delay-150'), 40, token);
    const [limited, next] = calls;
    expect(limited.status).toBe(429);
    expect(isProgressEdit(limited)).toBe(true);
    expect(next.at - limited.at).toBeGreaterThanOrEqual(3000);
    // Progress resumed, and the job was delivered as if nothing had happened.
    const after = calls.slice(1, -1);
    expect(after.length).toBeGreaterThan(0);
    for (const call of after) {
      expect(isProgressEdit(call)).toBe(true);
      expect(call.status).toBe(200);
    }
    expectImage(final);
  });

  it("shows no progress for a button's job, which is posted as a new message when done", async () => {
    const prompt = uniquePrompt('a slow kite step-delay-100');
    const { final } = await imagineSlowly(prompt, 12);
    const click = buttonInteraction(buttonsOf(final).actions.get('Re-roll') ?? '', messageFrom(final));
    await interact(click);
    const calls = await waitForDelivery(click.token);
    expect(calls.map((call) => call.method)).toEqual(['POST']);
    expect(calls[0].body?.embeds?.[0]?.image?.url).toMatch(IMAGE_URL);
    expect(calls[0].body?.attachments).toBeUndefined();
    // The re-roll's job asked for no previews; the /imagine job did.
    const jobs = await gpuCalls(prompt);
    expect(jobs.map((job) => job.preview_every)).toEqual([2, 0]);
  });

  it('is checked by a fake Discord that refuses uploads Discord would refuse or drop', async () => {
    const webp = Uint8Array.from([...'RIFF\0\0\0\0WEBPVP8L'].map((c) => c.charCodeAt(0)));
    const patch = async (message: object, files: [string, Uint8Array, string][]) => {
      const form = new FormData();
      form.append('payload_json', JSON.stringify(message));
      for (const [field, bytes, filename] of files) {
        form.append(field, new Blob([bytes], { type: 'image/webp' }), filename);
      }
      const token = `token-${crypto.randomUUID()}`;
      const response = await fetch(
        `https://discord.test/api/v10/webhooks/${TEST_DISCORD_APPLICATION_ID}/${token}/messages/@original`,
        { method: 'PATCH', headers: { 'User-Agent': 'DiscordBot (https://edge.test, 1.0.0)' }, body: form },
      );
      const [call] = await discordCalls(token);
      return { status: response.status, problems: call.problems.join('\n') };
    };
    const preview = { embeds: [{ image: { url: 'attachment://preview.webp' } }] };
    const listed = { ...preview, attachments: [{ id: 0, filename: 'preview.webp' }] };
    expect(await patch(listed, [['files[0]', webp, 'preview.webp']])).toEqual({ status: 200, problems: '' });
    const refusals: [object, [string, Uint8Array, string][], RegExp][] = [
      [listed, [], /attachments\.0\.id: 0 is neither a files\[0\] part/],
      [listed, [['files[0]', webp, 'other.webp']], /"preview\.webp" but files\[0\] is "other\.webp"/],
      [listed, [['files[0]', new Uint8Array(16), 'preview.webp']], /"preview\.webp" is not a webp file/],
      [preview, [['files[0]', webp, 'preview.webp']], /files\[0\] is not listed in attachments/],
      [
        { ...listed, embeds: [{ image: { url: 'attachment://x.webp' } }] },
        [['files[0]', webp, 'preview.webp']],
        /attachment:\/\/x\.webp names no attachment/,
      ],
    ];
    for (const [message, files, problem] of refusals) {
      const { status, problems } = await patch(message, files);
      expect(status).toBe(400);
      expect(problems).toMatch(problem);
    }
  });

  it('takes DISCORD_PROGRESS_INTERVAL_MS from 1000 ms up, 2500 ms when unset', () => {
    expect(
      edgeConfig({ ...env, DISCORD_PROGRESS_INTERVAL_MS: undefined } as unknown as Env)
        .DISCORD_PROGRESS_INTERVAL_MS,
    ).toBe(2500);
    expect(() => edgeConfig({ ...env, DISCORD_PROGRESS_INTERVAL_MS: 500 } as Env)).toThrow(
      /DISCORD_PROGRESS_INTERVAL_MS: .*1000/,
    );
  });
});
