// What the JOBS queue carries. A generate message holds the prepared generation (tokenized,
// seeds chosen, cache keys computed), so the consumer repeats none of the request's checks; an
// init image is too large for a message (128 KB) and waits in R2 under `inputs/<sha256>`
// (content-addressed, so jobs sharing an image share the object; an R2 lifecycle rule on the
// `inputs/` prefix removes them, see edge/README.md).
import type { DiscordMessage } from '../discord/discord-job.ts';
import type { PreparedGeneration } from '../generation/prepare-generation.ts';

export interface GenerateMessage {
  type: 'generate';
  job_id: string;
  generation: PreparedGeneration;
  /** Preview frames on the job's event stream every this many steps; 0 or absent = none. */
  preview_every?: number;
  /** The owning key's own cap on jobs in the GPU queues (scale-out), when its record sets one. */
  max_in_flight?: number;
  /** A ComfyUI-compatible run (POST /prompt): its hub, by API key id, hears the progress. */
  comfy?: { owner: string };
}

/** Tells a finished job's webhook about it. */
export interface WebhookMessage {
  type: 'webhook';
  job_id: string;
}

/** Discord interactions' jobs (edge/src/discord/discord-job.ts). */
export type QueueMessage = GenerateMessage | WebhookMessage | DiscordMessage;

export function initImageKey(sha256: string): string {
  return `inputs/${sha256}`;
}
