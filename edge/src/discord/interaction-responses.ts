// The answers to an interaction, sent as the HTTP response within Discord's 3 seconds
// (SD-NOTES §5.2): deferred (the job answers later through the webhook), or a message only the
// user sees, for anything the service refuses.
import type { APIInteractionResponse } from 'discord-api-types/v10';
import { ApiError } from '../http/api-error.ts';
import { InteractionResponseType, MessageFlags } from './discord-constants.ts';

/** /imagine: Discord shows "thinking…" until the job edits the reply. */
export const DEFERRED_REPLY: APIInteractionResponse = {
  type: InteractionResponseType.DeferredChannelMessageWithSource,
};

/** A button: acknowledged; the job posts its result as a follow-up (or deletes the message). */
export const DEFERRED_UPDATE: APIInteractionResponse = {
  type: InteractionResponseType.DeferredMessageUpdate,
};

export function ephemeral(content: string): APIInteractionResponse {
  return {
    type: InteractionResponseType.ChannelMessageWithSource,
    data: { content, flags: MessageFlags.Ephemeral, allowed_mentions: { parse: [] } },
  };
}

/** Runs a handler; what the service refuses (a 4xx) becomes an ephemeral message saying why. */
export async function refusalsToUser(
  handle: () => Promise<APIInteractionResponse>,
): Promise<APIInteractionResponse> {
  try {
    return await handle();
  } catch (error) {
    if (error instanceof ApiError && error.status < 500) return ephemeral(`❌ ${error.message}`);
    throw error;
  }
}
