// What /imagine uses in one server: DISCORD_DEFAULTS, overridden by the server's own
// DISCORD_SERVERS entry, with the model resolved against MODELS. An id that names no served
// model is the operator's mistake, so it is a 500 naming the setting, not the user's 400; the
// user's own `model` option (any served model) is checked like the HTTP API's, a 400.
import type { EdgeConfig } from '../config/edge-config.ts';
import { findModel, type ServedModel, servedModels } from '../generation/served-models.ts';
import { ApiError } from '../http/api-error.ts';
import type { CompiledRule } from '../safety/prompt-rules.ts';

export interface ServerSettings {
  model: ServedModel;
  negativePrompt: string;
  maxSteps: number;
  /** Images per window for the whole server. */
  rateLimit: number;
  /** Checked after the model's PROMPT_RULES. */
  promptRules: readonly CompiledRule[];
  /** Whether the server's NSFW channels get unfiltered images. */
  unfilteredNsfwChannels: boolean;
}

export function serverSettings(
  config: EdgeConfig,
  guildId: string | undefined,
  chosenModel?: string,
): ServerSettings {
  const defaults = config.DISCORD_DEFAULTS;
  const own = config.DISCORD_SERVERS.find((server) => server.guild_id === guildId);
  const modelId = own?.model ?? defaults.model;
  const models = servedModels(config);
  const model =
    chosenModel !== undefined
      ? findModel(config, chosenModel)
      : modelId
        ? models.find((m) => m.config.id === modelId)
        : models[0];
  if (!model) {
    const setting = own ? `DISCORD_SERVERS (guild ${own.guild_id})` : 'DISCORD_DEFAULTS';
    throw new ApiError(
      500,
      'misconfigured',
      `edge configuration: ${setting}.model: ${JSON.stringify(modelId)} is not one of MODELS`,
    );
  }
  return {
    model,
    negativePrompt: own?.negative_prompt ?? defaults.negative_prompt,
    maxSteps: Math.min(own?.max_steps ?? defaults.max_steps, model.config.max_steps),
    rateLimit: own?.rate_limit ?? config.DISCORD_SERVER_RATE_LIMIT,
    promptRules: own?.prompt_rules ?? defaults.prompt_rules,
    unfilteredNsfwChannels: own?.unfiltered_nsfw_channels ?? defaults.unfiltered_nsfw_channels,
  };
}
