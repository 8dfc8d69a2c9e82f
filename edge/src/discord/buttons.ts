// Button clicks (MESSAGE_COMPONENT interactions), acknowledged with a deferred update within the
// 3 seconds and carried out by the queue like /imagine. The image buttons rebuild the request from
// the parameters stored with the image in R2 (see custom-id.ts) and prepare it with the same code
// as the HTTP API: Re-roll with a new random seed, Variations with four new consecutive seeds,
// Same seed with the image's own seed; the result is a new message whose Delete button obeys the
// user who clicked. Delete obeys only the user who asked for the image.
import type { GenerationRequest } from '@latent-edge/shared/protocol/generation-request';
import type { APIInteractionResponse } from 'discord-api-types/v10';
import { nativeRequest } from '../compat/native-request.ts';
import { readImageParameters } from '../generation/image-objects.ts';
import { prepareGeneration } from '../generation/prepare-generation.ts';
import { ApiError } from '../http/api-error.ts';
import { type ButtonAction, parseCustomId } from './custom-id.ts';
import { VARIATION_COUNT } from './discord-config.ts';
import { type DiscordDeleteMessage, type DiscordGenerateMessage, interactionRef } from './discord-job.ts';
import { takeImageSlots } from './discord-rate-limit.ts';
import type { DiscordContext } from './imagine.ts';
import { componentData, type Interaction, interactionUser } from './interaction.ts';
import { DEFERRED_UPDATE, ephemeral } from './interaction-responses.ts';
import { serverSettings } from './server-settings.ts';

/** The request that makes the clicked image again, with the seeds the button asks for. */
async function requestFor(
  bucket: R2Bucket,
  action: Extract<ButtonAction, { key: string }>,
): Promise<GenerationRequest> {
  // Discord images are always PNG (imagine.ts), so the object name follows from the key.
  const object = await bucket.head(`${action.key}.png`);
  const params = object ? readImageParameters(object) : undefined;
  if (!params) throw new ApiError(404, 'not_found', 'this image is no longer stored');
  return nativeRequest(
    {
      model: params.model,
      prompt: params.prompt,
      negative_prompt: params.negative_prompt,
      width: params.width,
      height: params.height,
      steps: params.steps,
      guidance_scale: params.guidance_scale,
      guidance_rescale: params.guidance_rescale,
      scheduler: params.scheduler,
      seed: action.kind === 'same_seed' ? params.seed : -1,
      n: action.kind === 'variations' ? VARIATION_COUNT : 1,
      output_format: 'png',
    },
    {},
  );
}

export async function clickButton(
  ctx: DiscordContext,
  interaction: Interaction,
): Promise<APIInteractionResponse> {
  const { env, config } = ctx;
  const action = parseCustomId(componentData(interaction).custom_id);
  if (!action) throw new ApiError(400, 'invalid_request', 'this button is not one of ours');
  const userId = interactionUser(interaction);

  if (action.kind === 'delete') {
    if (userId !== action.owner) return ephemeral(`Only <@${action.owner}> can delete this image.`);
    const message: DiscordDeleteMessage = {
      type: 'discord',
      action: 'delete',
      interaction: interactionRef(interaction),
      base_url: ctx.baseUrl,
    };
    await env.JOBS.send(message, { contentType: 'json' });
    return DEFERRED_UPDATE;
  }

  const { generation } = await prepareGeneration(config, await requestFor(env.IMAGES, action));
  await takeImageSlots(
    env,
    config,
    { userId, guildId: interaction.guild_id },
    generation.images.length,
    serverSettings(config, interaction.guild_id).rateLimit,
  );
  const message: DiscordGenerateMessage = {
    type: 'discord',
    action: 'generate',
    job_id: crypto.randomUUID(),
    interaction: interactionRef(interaction),
    delivery: 'follow_up',
    user_id: userId,
    base_url: ctx.baseUrl,
    generation,
  };
  await env.JOBS.send(message, { contentType: 'json' });
  return DEFERRED_UPDATE;
}
