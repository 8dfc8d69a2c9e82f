// Autocomplete for /imagine's `size`: Discord asks as the user types, with the options filled in
// so far, and shows what we answer within its 3 seconds. The sizes are those of the model chosen
// in the same command (or the server's), so an SDXL model offers its buckets and an SD 1.x model
// its squares and common aspect ratios. A model name that is not served falls back to the
// server's model here; the command itself then says the name is unknown.
import type { APIInteractionResponse } from 'discord-api-types/v10';
import type { EdgeConfig } from '../config/edge-config.ts';
import { servedModels } from '../generation/served-models.ts';
import { InteractionResponseType } from './discord-constants.ts';
import { sizeChoices } from './imagine-command.ts';
import { commandData, type Interaction } from './interaction.ts';
import { serverSettings } from './server-settings.ts';

export function sizeAutocomplete(config: EdgeConfig, interaction: Interaction): APIInteractionResponse {
  const { options } = commandData(interaction);
  const chosen = options.find((o) => o.name === 'model')?.value;
  const served = servedModels(config).find((m) => m.config.id === chosen);
  const model = served ?? serverSettings(config, interaction.guild_id).model;
  const focused = options.find((o) => o.focused);
  const typed = focused?.name === 'size' && typeof focused.value === 'string' ? focused.value : '';
  return {
    type: InteractionResponseType.ApplicationCommandAutocompleteResult,
    data: { choices: focused?.name === 'size' ? sizeChoices(model.config, typed) : [] },
  };
}
