// What a Discord channel asks of the prompt policy and the image safety checker: the server's own
// prompt rules always apply; images skip the gpu-worker's safety checker only in a channel the
// server marked NSFW, and only when the server's settings allow it (unfiltered_nsfw_channels).
// Everywhere else, DMs included, images are filtered.
import type { GenerationPolicy } from '../generation/prepare-generation.ts';
import type { Interaction } from './interaction.ts';
import type { ServerSettings } from './server-settings.ts';

export function channelPolicy(settings: ServerSettings, interaction: Interaction): GenerationPolicy {
  const nsfwChannel = interaction.guild_id !== undefined && interaction.channel?.nsfw === true;
  return {
    extraRules: settings.promptRules,
    unfiltered: settings.unfilteredNsfwChannels && nsfwChannel,
  };
}
