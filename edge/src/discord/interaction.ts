// The parts of an interaction (discord-api-types `APIInteraction`) this service reads, checked
// once the signature has shown that Discord sent it. Unknown fields are ignored, not refused:
// Discord adds fields to interactions without a new API version.
import type { APIInteraction } from 'discord-api-types/v10';
import { z } from 'zod';
import { ApiError } from '../http/api-error.ts';
import { InteractionType } from './discord-constants.ts';

const Id = z.string().regex(/^\d{1,20}$/);
const User = z.object({ id: Id });

const CommandOption = z.object({
  name: z.string(),
  type: z.int(),
  value: z.union([z.string(), z.number(), z.boolean()]).optional(),
  /** Autocomplete: the option the user is typing in. */
  focused: z.boolean().optional(),
});

export const CommandData = z.object({
  name: z.string(),
  options: z.array(CommandOption).default([]),
});

export const ComponentData = z.object({
  custom_id: z.string().max(100),
  component_type: z.int(),
});

export const Interaction = z.object({
  id: Id,
  application_id: Id,
  type: z.enum(InteractionType),
  token: z.string().min(1).max(1000),
  guild_id: Id.optional(),
  /** The channel it came from; `nsfw` is the server's age-restricted mark (text channels). */
  channel: z.object({ nsfw: z.boolean().optional() }).optional(),
  /** In a server: the member, with its user. */
  member: z.object({ user: User }).optional(),
  /** In a DM: the user. */
  user: User.optional(),
  data: z.unknown().optional(),
});

export type Interaction = z.output<typeof Interaction>;
export type CommandOption = z.output<typeof CommandOption>;

/** Who clicked or typed: the member's user in a server, the user in a DM. */
export function interactionUser(interaction: Interaction): string {
  const id = interaction.member?.user.id ?? interaction.user?.id;
  if (!id) throw new ApiError(400, 'invalid_request', 'the interaction names no user');
  return id;
}

function parsed<T extends z.ZodType>(schema: T, value: unknown, what: string): z.output<T> {
  const result = schema.safeParse(value);
  if (!result.success) {
    const issue = result.error.issues[0];
    throw new ApiError(400, 'invalid_request', `${what}: ${issue.path.join('.')}: ${issue.message}`);
  }
  return result.data;
}

/** The signed body as an interaction; a 400 when it is not JSON or lacks what we read. */
export function parseInteraction(body: Uint8Array): Interaction {
  let json: APIInteraction;
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(body));
  } catch {
    throw new ApiError(400, 'invalid_json', 'the interaction is not valid JSON');
  }
  return parsed(Interaction, json, 'interaction');
}

export function commandData(interaction: Interaction): z.output<typeof CommandData> {
  return parsed(CommandData, interaction.data, 'interaction.data');
}

export function componentData(interaction: Interaction): z.output<typeof ComponentData> {
  return parsed(ComponentData, interaction.data, 'interaction.data');
}
