// /imagine: the options become the same GenerationRequest the HTTP API takes, validated by the
// shared schema and prepared by the same code (the model's limits, A1111 prompt syntax and
// tokenizing, seeds, cache keys), with the server's defaults and its step limit applied; errors
// name the option the user typed; the prompt policy adds the server's rules, and the channel says
// whether images are filtered (channel-policy.ts). Then the user's and the server's rate limits, then the queue.
// A refused request is answered at once to the user alone; an accepted one is deferred.
import type { APIInteractionResponse } from 'discord-api-types/v10';
import { nativeRequest, withClientNames } from '../compat/native-request.ts';
import type { EdgeConfig } from '../config/edge-config.ts';
import { prepareGeneration } from '../generation/prepare-generation.ts';
import { ApiError } from '../http/api-error.ts';
import { channelPolicy } from './channel-policy.ts';
import { DISCORD_NEGATIVE_CHARS, DISCORD_PROMPT_CHARS } from './discord-config.ts';
import { type DiscordGenerateMessage, interactionRef } from './discord-job.ts';
import { takeImageSlots } from './discord-rate-limit.ts';
import { parseSize } from './image-sizes.ts';
import { IMAGINE, OPTION_NAMES } from './imagine-command.ts';
import { type CommandOption, commandData, type Interaction, interactionUser } from './interaction.ts';
import { DEFERRED_REPLY } from './interaction-responses.ts';
import { serverSettings } from './server-settings.ts';

export interface DiscordContext {
  env: Env;
  config: EdgeConfig;
  baseUrl: string;
}

function optionValues(options: readonly CommandOption[]): Record<string, string | number | boolean> {
  return Object.fromEntries(
    options.filter((o) => o.value !== undefined).map((o) => [o.name, o.value as string | number | boolean]),
  );
}

function invalid(option: string, message: string): ApiError {
  return new ApiError(400, 'invalid_request', `${option}: ${message}`, { field: option });
}

function size(value: unknown): { width?: number; height?: number } {
  if (value === undefined) return {};
  const parsed = typeof value === 'string' ? parseSize(value) : undefined;
  if (!parsed) throw invalid('size', `${JSON.stringify(value)} must look like 512x512`);
  return parsed;
}

function checkLength(option: string, value: unknown, max: number): void {
  if (typeof value === 'string' && value.length > max) {
    throw invalid(option, `${value.length} characters is above the limit of ${max}`);
  }
}

export async function imagine(
  ctx: DiscordContext,
  interaction: Interaction,
): Promise<APIInteractionResponse> {
  const { env, config } = ctx;
  const data = commandData(interaction);
  if (data.name !== IMAGINE) throw new ApiError(400, 'invalid_request', `unknown command /${data.name}`);
  const options = optionValues(data.options);
  const settings = serverSettings(config, interaction.guild_id, options.model as string | undefined);
  const userId = interactionUser(interaction);
  checkLength('prompt', options.prompt, DISCORD_PROMPT_CHARS);
  checkLength('negative', options.negative, DISCORD_NEGATIVE_CHARS);
  const steps = options.steps ?? Math.min(settings.model.config.default_steps, settings.maxSteps);
  if (typeof steps === 'number' && steps > settings.maxSteps) {
    throw invalid('steps', `${steps} is above this server's maximum of ${settings.maxSteps}`);
  }

  const request = nativeRequest(
    {
      prompt: options.prompt as string,
      negative_prompt: (options.negative as string | undefined) ?? settings.negativePrompt,
      model: settings.model.config.id,
      seed: (options.seed as number | undefined) ?? -1,
      steps: steps as number,
      ...size(options.size),
      scheduler: options.scheduler as string | undefined,
      guidance_scale: options.guidance as number | undefined,
      output_format: 'png',
    },
    OPTION_NAMES,
  );
  const { generation } = await withClientNames(OPTION_NAMES, () =>
    prepareGeneration(config, request, channelPolicy(settings, interaction)),
  );
  await takeImageSlots(
    env,
    config,
    { userId, guildId: interaction.guild_id },
    generation.images.length,
    settings.rateLimit,
  );
  const message: DiscordGenerateMessage = {
    type: 'discord',
    action: 'generate',
    job_id: crypto.randomUUID(),
    interaction: interactionRef(interaction),
    delivery: 'edit_original',
    user_id: userId,
    base_url: ctx.baseUrl,
    generation,
  };
  await env.JOBS.send(message, { contentType: 'json' });
  return DEFERRED_REPLY;
}
