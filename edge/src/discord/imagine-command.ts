// The /imagine command as it is registered with Discord (infra/discord/register-commands.ts) and
// read back from interactions. Its limits come from the same places as the HTTP API's: the
// shared LIMITS, the scheduler registry, and the served models' configuration (sizes, steps).
// Discord checks these limits in its client; the edge checks them again on every interaction.
// Sizes are offered by autocomplete (size-autocomplete.ts): they depend on the model chosen.
import { LIMITS } from '@latent-edge/shared/protocol/limits';
import { A1111_SAMPLER_ALIASES, SCHEDULER_NAMES } from '@latent-edge/shared/scheduler-names';
import type {
  APIApplicationCommandOption,
  APIApplicationCommandOptionChoice,
  RESTPostAPIChatInputApplicationCommandsJSONBody,
} from 'discord-api-types/v10';
import type { ModelConfig } from '../config/model-config.ts';
import { DISCORD_NEGATIVE_CHARS, DISCORD_PROMPT_CHARS } from './discord-config.ts';
import {
  ApplicationCommandOptionType,
  ApplicationCommandType,
  ApplicationIntegrationType,
  InteractionContextType,
} from './discord-constants.ts';
import { allowedSizes, MAX_CHOICES, sizeValue } from './image-sizes.ts';

export const IMAGINE = 'imagine';

/** Request fields whose /imagine option has another name, so error messages name the option. */
export const OPTION_NAMES: Readonly<Record<string, string>> = {
  negative_prompt: 'negative',
  guidance_scale: 'guidance',
  width: 'size',
  height: 'size',
};

/** Scheduler choices, labelled with AUTOMATIC1111's sampler names where there is one. */
function schedulerChoices(): APIApplicationCommandOptionChoice<string>[] {
  const labels = new Map(Object.entries(A1111_SAMPLER_ALIASES).map(([label, name]) => [name, label]));
  return SCHEDULER_NAMES.map((name) => ({ name: labels.get(name) ?? name, value: name }));
}

/**
 * The sizes offered as the user types in `size` (autocomplete, since they depend on the `model`
 * chosen beside it): the model's allowed sizes containing what is typed, the default marked.
 */
export function sizeChoices(model: ModelConfig, typed = ''): APIApplicationCommandOptionChoice<string>[] {
  const wanted = typed.toLowerCase().replace(/[×*]/g, 'x').replace(/\s+/g, '');
  return allowedSizes(model)
    .filter((size) => sizeValue(size).includes(wanted))
    .slice(0, MAX_CHOICES)
    .map((size) => {
      const isDefault = size.width === model.default_width && size.height === model.default_height;
      return { name: `${size.width}×${size.height}${isDefault ? ' (default)' : ''}`, value: sizeValue(size) };
    });
}

/** A choice of the served models, the default first; no option when only one is served. */
function modelOption(models: readonly ModelConfig[]): APIApplicationCommandOption[] {
  if (models.length < 2) return [];
  return [
    {
      type: ApplicationCommandOptionType.String,
      name: 'model',
      description: "Which model draws it (default: this server's)",
      choices: models.map((m) => ({ name: m.id, value: m.id })),
    },
  ];
}

export function imagineCommand(
  models: readonly ModelConfig[],
): RESTPostAPIChatInputApplicationCommandsJSONBody {
  const maxSteps = Math.max(...models.map((m) => m.max_steps));
  return {
    name: IMAGINE,
    type: ApplicationCommandType.ChatInput,
    description: 'Make an image from a text prompt',
    integration_types: [ApplicationIntegrationType.GuildInstall],
    contexts: [InteractionContextType.Guild],
    options: [
      {
        type: ApplicationCommandOptionType.String,
        name: 'prompt',
        description: 'What to draw; (word:1.3) gives a word more weight, [word] less',
        required: true,
        min_length: 1,
        max_length: DISCORD_PROMPT_CHARS,
      },
      {
        type: ApplicationCommandOptionType.String,
        name: 'negative',
        description: 'What to keep out of the image',
        max_length: DISCORD_NEGATIVE_CHARS,
      },
      {
        type: ApplicationCommandOptionType.Integer,
        name: 'seed',
        description: 'The same seed and options make the same image (default: random)',
        min_value: 0,
        max_value: LIMITS.maxSeed,
      },
      {
        type: ApplicationCommandOptionType.Integer,
        name: 'steps',
        description: 'Denoising steps: more is slower and often finer',
        min_value: 1,
        max_value: maxSteps,
      },
      ...modelOption(models),
      {
        type: ApplicationCommandOptionType.String,
        name: 'size',
        description: "Width × height in pixels; the chosen model's sizes are offered",
        autocomplete: true,
      },
      {
        type: ApplicationCommandOptionType.String,
        name: 'scheduler',
        description: 'The sampler that runs the denoising steps',
        choices: schedulerChoices(),
      },
      {
        type: ApplicationCommandOptionType.Number,
        name: 'guidance',
        description: 'How closely to follow the prompt (classifier-free guidance scale)',
        min_value: 0,
        max_value: LIMITS.maxGuidanceScale,
      },
    ],
  };
}
