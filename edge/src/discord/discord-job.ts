// What the JOBS queue carries for Discord (QueueMessage's `discord` member): the interaction to
// answer (its id dates the token, the token authorises the edit) and what to do. A generation
// is prepared before it is queued (validated, tokenized, seeds and cache keys chosen), so the
// consumer repeats none of the checks; its job id stays the same across retries.
import type { PreparedGeneration } from '../generation/prepare-generation.ts';

export interface InteractionRef {
  id: string;
  application_id: string;
  token: string;
}

/** The parts of an interaction a queued job needs to answer it later. */
export function interactionRef({ id, application_id, token }: InteractionRef): InteractionRef {
  return { id, application_id, token };
}

/** Make images, then edit the deferred reply (/imagine) or post a follow-up (a button). */
export interface DiscordGenerateMessage {
  type: 'discord';
  action: 'generate';
  job_id: string;
  interaction: InteractionRef;
  delivery: 'edit_original' | 'follow_up';
  /** Who asked: the one user the new message's Delete button obeys. */
  user_id: string;
  /** Public origin for the image and share URLs. */
  base_url: string;
  generation: PreparedGeneration;
}

/** Delete the message whose Delete button was clicked (the click's @original). */
export interface DiscordDeleteMessage {
  type: 'discord';
  action: 'delete';
  interaction: InteractionRef;
  base_url: string;
}

export type DiscordMessage = DiscordGenerateMessage | DiscordDeleteMessage;
