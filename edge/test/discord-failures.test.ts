// Discord jobs that fail, run through the Worker's queue handler with messages built here (as
// webhooks.test.ts does): every gpu-worker busy (fake gpu-workers at down-*.gpu.test), a job the
// gpu-worker refuses, and Discord itself refusing the edit. A failure edits the reply with a
// readable reason (to the clicker alone for a button's job); a busy job goes back to the queue
// only while a later start still fits in the token's 15 minutes.
import { createExecutionContext, createMessageBatch, env, getQueueResult } from 'cloudflare:test';
import { GenerationRequest } from '@latent-edge/shared/protocol/generation-request';
import { describe, expect, it } from 'vitest';
import { edgeConfig } from '../src/config/edge-config.ts';
import { MessageFlags } from '../src/discord/discord-constants.ts';
import type { DiscordGenerateMessage } from '../src/discord/discord-job.ts';
import { prepareGeneration } from '../src/generation/prepare-generation.ts';
import worker from '../src/index.ts';
import type { QueueMessage } from '../src/jobs/queue-message.ts';
import { gpuCalls, uniquePrompt } from './support/api.ts';
import {
  discordCalls,
  newUserId,
  snowflake,
  TEST_DISCORD_APPLICATION_ID,
  waitForCalls,
} from './support/discord.ts';

const BUSY_ENV = { ...env, GPU_WORKERS: 'http://down-a.gpu.test,http://down-b.gpu.test' };

async function discordJob(
  prompt: string,
  options: { delivery?: DiscordGenerateMessage['delivery']; createdAt?: number; token?: string } = {},
): Promise<DiscordGenerateMessage> {
  const { generation } = await prepareGeneration(
    edgeConfig(env),
    GenerationRequest.parse({ prompt, seed: 8 }),
  );
  return {
    type: 'discord',
    action: 'generate',
    job_id: crypto.randomUUID(),
    interaction: {
      id: snowflake(options.createdAt),
      application_id: TEST_DISCORD_APPLICATION_ID,
      token: options.token ?? `token-${crypto.randomUUID()}`,
    },
    delivery: options.delivery ?? 'edit_original',
    user_id: newUserId(),
    base_url: 'https://edge.test',
    generation,
  };
}

async function consume(body: QueueMessage, attempts: number, bindings: Env = env) {
  const batch = createMessageBatch<QueueMessage>('latent-edge-jobs', [
    { id: 'm1', timestamp: new Date(), attempts, body },
  ]);
  const ctx = createExecutionContext();
  await worker.queue(batch, bindings, ctx);
  return getQueueResult(batch, ctx);
}

describe('Discord jobs that fail', () => {
  it('edits the reply with a readable reason when every gpu-worker stays busy', async () => {
    const job = await discordJob(uniquePrompt('a busy day'));
    const result = await consume(job, 5, BUSY_ENV);
    expect(result.explicitAcks).toEqual(['m1']);
    const [edit] = await waitForCalls(job.interaction.token);
    expect(edit.method).toBe('PATCH');
    expect(edit.path).toMatch(/\/messages\/@original$/);
    expect(edit.problems).toEqual([]);
    expect(edit.body?.content).toBe(
      '⚠️ Could not make this image: every GPU is busy or unreachable right now; please try again in a few minutes.',
    );
    expect(edit.body?.embeds).toEqual([]);
    // The gpu-workers' addresses stay in the logs.
    expect(edit.body?.content).not.toContain('gpu.test');
  });

  it('puts a busy job back on the queue, without a word to Discord, while a later start fits', async () => {
    const prompt = uniquePrompt('a busy morning');
    const job = await discordJob(prompt);
    const result = await consume(job, 1, BUSY_ENV);
    expect(result.retryMessages.map((m: { msgId: string }) => m.msgId)).toEqual(['m1']);
    expect(result.explicitAcks).toEqual([]);
    expect(await discordCalls(job.interaction.token)).toEqual([]);
    expect((await gpuCalls(prompt)).map((c) => c.status)).toEqual([503, 503]);
  });

  it('fails at once instead of retrying when a retry could not finish before the token expires', async () => {
    // 272 s of token left: enough to start now (two 120 s attempts + 30 s), not after a 5 s delay.
    const job = await discordJob(uniquePrompt('a busy evening'), {
      createdAt: Date.now() - (900 - 272) * 1000,
    });
    const result = await consume(job, 1, BUSY_ENV);
    expect(result.retryMessages).toEqual([]);
    const [edit] = await waitForCalls(job.interaction.token);
    expect(edit.body?.content).toContain('every GPU is busy');
  });

  it("tells the clicker alone when a button's job fails", async () => {
    const job = await discordJob(uniquePrompt('a busy night'), { delivery: 'follow_up' });
    await consume(job, 5, BUSY_ENV);
    const [followUp] = await waitForCalls(job.interaction.token);
    expect(followUp.method).toBe('POST');
    expect(followUp.path).toBe(`/api/v10/webhooks/${TEST_DISCORD_APPLICATION_ID}/${job.interaction.token}`);
    expect(followUp.body?.flags).toBe(MessageFlags.Ephemeral);
    expect(followUp.body?.content).toMatch(/^⚠️ Could not make this image: every GPU is busy/);
  });

  it('reports a job the gpu-worker refuses, without retrying it', async () => {
    const job = await discordJob(uniquePrompt('a malformed job'));
    // Chunks of 10 ids where the model needs 77: the fake gpu-worker refuses the job (400).
    job.generation.prompt = {
      ...job.generation.prompt,
      chunks: [{ ids: Array(10).fill(1), weights: Array(10).fill(1) }],
    };
    const result = await consume(job, 1);
    expect(result.retryMessages).toEqual([]);
    const [edit] = await waitForCalls(job.interaction.token);
    expect(edit.body?.content).toBe(
      '⚠️ Could not make this image: the GPU refused the job; the operators have the details.',
    );
  });

  it('gives up quietly when Discord says the token has expired', async () => {
    const job = await discordJob(uniquePrompt('an expired token'), {
      token: `expired-${crypto.randomUUID()}`,
    });
    const result = await consume(job, 1);
    expect(result.explicitAcks).toEqual(['m1']);
    expect(result.retryMessages).toEqual([]);
    expect((await discordCalls(job.interaction.token)).map((c) => c.status)).toEqual([404]);
  });
});
