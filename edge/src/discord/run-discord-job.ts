// The JOBS queue consumer's part for Discord. A generation:
//   1. starts only if, worst case, it is delivered while the interaction token lives; otherwise
//      the reply says so and nothing runs;
//   2. runs like any other (result cache, embedding cache, gpu-worker, R2), its gpu-worker
//      attempts capped so two of them fit in the token's life;
//   3. goes back to the queue when every gpu-worker is busy, only while a later start still fits;
//   4. is delivered: the deferred reply edited (/imagine) or a follow-up posted (a button), with
//      the images, or with a readable reason when it failed.
// While it runs, an /imagine job's deferred reply shows its progress (progress-editor.ts). A
// button's job is delivered as a new follow-up, which does not exist until then: it shows none.
// A delete removes the message a Delete button sits on. Discord being briefly unavailable sends
// the message back to the queue (the images are cached by then, so a retry only delivers).
import { edgeConfig } from '../config/edge-config.ts';
import { recordJob, releaseJob } from '../generation/job-accounting.ts';
import { runGeneration } from '../generation/run-generation.ts';
import { toApiError } from '../http/api-error.ts';
import { loadJobInputs } from '../jobs/job-inputs.ts';
import type { QueueMessage } from '../jobs/queue-message.ts';
import type { DiscordGenerateMessage, DiscordMessage } from './discord-job.ts';
import {
  createFollowup,
  DiscordApiError,
  type DiscordRest,
  deleteOriginal,
  editOriginal,
} from './discord-rest.ts';
import { failureReason, TOO_LATE } from './failure-reason.ts';
import { failureMessage, imageMessage, type MessageBody } from './image-message.ts';
import { type ProgressEditor, previewEvery, progressEditor } from './progress-editor.ts';
import { progressMessage } from './progress-message.ts';
import { attemptTimeoutMs, finishesInTime, tokenExpiresAt } from './token-life.ts';

/** Discord users have no API key: their usage is metered under this owner id (keys -- usage discord:<id>). */
export const discordUsageOwner = (userId: string) => `discord:${userId}`;

/** Queue deliveries of one Discord job before it fails for good. */
const MAX_ATTEMPTS = 5;
/** Seconds before retry n: DISCORD_RETRY_SECONDS doubling (shorter than API jobs': the token is ticking). */
const discordBackoffSeconds = (firstSeconds: number, attempt: number) => firstSeconds * 2 ** (attempt - 1);
/** A progress edit that takes longer is given up, so it never holds the final edit for long. */
const PROGRESS_EDIT_TIMEOUT_MS = 5000;

function deliver(rest: DiscordRest, job: DiscordGenerateMessage, body: MessageBody): Promise<void> {
  // Listing no attachments removes the preview frame a progress edit may have left (PATCH keeps
  // only the attachments it lists), so the message shows our permanent image URL alone.
  return job.delivery === 'edit_original'
    ? editOriginal(rest, job.interaction, { ...body, attachments: [] })
    : createFollowup(rest, job.interaction, body);
}

/** Progress edits of the deferred reply, best effort (never an error, never a retry). */
function showProgress(rest: DiscordRest, job: DiscordGenerateMessage, intervalMs: number): ProgressEditor {
  return progressEditor(
    (view) => {
      const { body, files } = progressMessage(job.generation, job.user_id, view);
      return editOriginal(rest, job.interaction, body, {
        files,
        waitOutRateLimit: false,
        timeoutMs: PROGRESS_EDIT_TIMEOUT_MS,
      });
    },
    intervalMs,
    job.job_id,
  );
}

/** What to tell the user, or when to try again (the job goes back to the queue). */
async function generate(
  rest: DiscordRest,
  job: DiscordGenerateMessage,
  attempts: number,
  env: Env,
  ctx: ExecutionContext,
): Promise<MessageBody | { retryInSeconds: number }> {
  const config = edgeConfig(env);
  const attemptMs = attemptTimeoutMs(config.GPU_TIMEOUT_MS);
  // 1. The token's life.
  if (!finishesInTime(job.interaction.id, Date.now(), attemptMs)) {
    return failureMessage(TOO_LATE, job.delivery === 'follow_up');
  }
  const progress =
    job.delivery === 'edit_original'
      ? showProgress(rest, job, config.DISCORD_PROGRESS_INTERVAL_MS)
      : undefined;
  try {
    // 2. The generation (with Zoom out's init image, from R2), its progress shown until it settles.
    const outcome = await loadJobInputs(env.IMAGES, job.generation)
      .then((inputs) =>
        runGeneration(
          { env, config: { ...config, GPU_TIMEOUT_MS: attemptMs }, waitUntil: (p) => ctx.waitUntil(p) },
          { generation: job.generation, ...inputs },
          {
            jobId: job.job_id,
            onProgress: progress?.listener,
            previewEvery: progress ? previewEvery(job.generation.steps) : undefined,
            // Each Discord user has a key's share of the fleet (their rate limit bounds them too).
            share: { owner: `discord:${job.user_id}`, cap: config.MAX_IN_FLIGHT_PER_KEY },
          },
        ),
      )
      .finally(() => progress?.finish());
    await recordJob(env, discordUsageOwner(job.user_id), outcome, (p) => ctx.waitUntil(p));
    return imageMessage(outcome.generation, outcome.images, job.base_url, job.user_id);
  } catch (error) {
    const failure = toApiError(error);
    if (failure.status >= 500) console.error(`discord job ${job.job_id}:`, failure.options.cause ?? error);
    // 3. Busy: later, if later is still in time.
    const busy = failure.status === 503 || failure.status === 504;
    const delay = discordBackoffSeconds(config.DISCORD_RETRY_SECONDS, attempts);
    if (
      busy &&
      attempts < MAX_ATTEMPTS &&
      finishesInTime(job.interaction.id, Date.now() + delay * 1000, attemptMs)
    ) {
      return { retryInSeconds: delay };
    }
    await releaseJob(env, discordUsageOwner(job.user_id), job.job_id, (p) => ctx.waitUntil(p));
    return failureMessage(failureReason(failure), job.delivery === 'follow_up');
  }
}

export async function runDiscordJob(
  message: Message<QueueMessage>,
  job: DiscordMessage,
  env: Env,
  ctx: ExecutionContext,
): Promise<void> {
  const config = edgeConfig(env);
  const rest: DiscordRest = { apiBase: config.DISCORD_API_BASE, baseUrl: job.base_url };
  try {
    if (job.action === 'delete') {
      await deleteOriginal(rest, job.interaction);
    } else {
      const outcome = await generate(rest, job, message.attempts, env, ctx);
      if ('retryInSeconds' in outcome) return message.retry({ delaySeconds: outcome.retryInSeconds });
      // 4. Delivery.
      await deliver(rest, job, outcome);
    }
  } catch (error) {
    if (!(error instanceof DiscordApiError)) throw error;
    const delay = Math.ceil(
      error.retryAfterSeconds ?? discordBackoffSeconds(config.DISCORD_RETRY_SECONDS, message.attempts),
    );
    const alive = Date.now() + delay * 1000 < tokenExpiresAt(job.interaction.id);
    if (error.retryable && alive && message.attempts < MAX_ATTEMPTS) {
      console.warn(`${error.message}; retrying in ${delay} s`);
      return message.retry({ delaySeconds: delay });
    }
    // Nothing more can be said to the user: the token expired or the message was deleted (the
    // user's doing), or Discord refused the call (ours).
    if (error.gone) console.warn(`${error.message}; giving up`);
    else console.error(error.message);
  }
  message.ack();
}
