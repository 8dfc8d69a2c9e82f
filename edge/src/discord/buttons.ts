// Button clicks (MESSAGE_COMPONENT interactions), acknowledged with a deferred update within the
// 3 seconds and carried out by the queue like /imagine. The image buttons rebuild the request from
// the parameters stored with the image in R2 (see custom-id.ts) and prepare it with the same code
// as the HTTP API: Re-roll with a new random seed, Variations with four new consecutive seeds,
// Same seed with the image's own seed, Zoom out with the image itself as the init image, centred
// on a canvas 1.5 times its size whose border is outpainted (zoom-out.ts), with its own seed. An
// image made by Zoom out is made again by zooming out the image it came from again, so its
// Re-roll, Variations and Same seed redo the zoom. The result is a new message whose Delete
// button obeys the user who clicked. Delete obeys only the user who asked for the image.
import type { GenerationRequest } from '@latent-edge/shared/protocol/generation-request';
import type { APIInteractionResponse } from 'discord-api-types/v10';
import { nativeRequest } from '../compat/native-request.ts';
import type { EdgeConfig } from '../config/edge-config.ts';
import { toBase64 } from '../generation/image-bytes.ts';
import { type ImageParameters, readImageParameters } from '../generation/image-objects.ts';
import { prepareGeneration } from '../generation/prepare-generation.ts';
import { findModel } from '../generation/served-models.ts';
import { ApiError } from '../http/api-error.ts';
import { storeJobInputs } from '../jobs/job-inputs.ts';
import { channelPolicy } from './channel-policy.ts';
import { type ButtonAction, parseCustomId } from './custom-id.ts';
import { VARIATION_COUNT } from './discord-config.ts';
import { type DiscordDeleteMessage, type DiscordGenerateMessage, interactionRef } from './discord-job.ts';
import { takeImageSlots } from './discord-rate-limit.ts';
import type { DiscordContext } from './imagine.ts';
import { componentData, type Interaction, interactionUser } from './interaction.ts';
import { DEFERRED_UPDATE, ephemeral } from './interaction-responses.ts';
import { serverSettings } from './server-settings.ts';
import { planZoomOut } from './zoom-out.ts';

type ImageAction = Extract<ButtonAction, { key: string }>;

/** Outpainting's border starts as noise: the model draws it whole, the image itself is kept. */
const ZOOM_OUT_STRENGTH = 1;

const GONE = 'this image is no longer stored';

/** A Discord image's stored parameters (images are always PNG, imagine.ts), by its key. */
async function storedParameters(bucket: R2Bucket, key: string): Promise<ImageParameters | undefined> {
  const object = await bucket.head(`${key}.png`);
  return object ? readImageParameters(object) : undefined;
}

/** A Discord image's bytes and stored parameters. */
async function storedImage(
  bucket: R2Bucket,
  key: string,
): Promise<{ params: ImageParameters; bytes: Uint8Array } | undefined> {
  const object = await bucket.get(`${key}.png`);
  const params = object ? readImageParameters(object) : undefined;
  if (!object || !params) return undefined;
  return { params, bytes: new Uint8Array(await object.arrayBuffer()) };
}

/** The outpainting fields that zoom out the stored image `key`, or a refusal the user reads. */
async function zoomOutFields(config: EdgeConfig, bucket: R2Bucket, key: string, clicked: string) {
  const source = await storedImage(bucket, key);
  if (!source) {
    throw new ApiError(
      404,
      'not_found',
      key === clicked ? GONE : 'the image this one zooms out of is no longer stored',
    );
  }
  const { params, bytes } = source;
  const plan = planZoomOut(params, findModel(config, params.model).config);
  if (!plan.fits) throw new ApiError(400, 'invalid_request', plan.reason);
  return {
    init_image: toBase64(bytes),
    strength: ZOOM_OUT_STRENGTH,
    outpaint: plan.outpaint,
    width: plan.width,
    height: plan.height,
  };
}

/** The request that makes the clicked image again (or zooms it out), with the seeds the button asks for. */
async function requestFor(
  config: EdgeConfig,
  bucket: R2Bucket,
  action: ImageAction,
): Promise<{ request: GenerationRequest; zoomedFrom?: string }> {
  const params = await storedParameters(bucket, action.key);
  if (!params) throw new ApiError(404, 'not_found', GONE);
  const zoomedFrom = action.kind === 'zoom_out' ? action.key : params.zoomed_from;
  const size = zoomedFrom
    ? await zoomOutFields(config, bucket, zoomedFrom, action.key)
    : { width: params.width, height: params.height };
  const request = nativeRequest(
    {
      model: params.model,
      prompt: params.prompt,
      negative_prompt: params.negative_prompt,
      ...size,
      steps: params.steps,
      guidance_scale: params.guidance_scale,
      guidance_rescale: params.guidance_rescale,
      scheduler: params.scheduler,
      seed: action.kind === 'same_seed' || action.kind === 'zoom_out' ? params.seed : -1,
      n: action.kind === 'variations' ? VARIATION_COUNT : 1,
      output_format: 'png',
    },
    {},
  );
  return { request, ...(zoomedFrom && { zoomedFrom }) };
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

  const { request, zoomedFrom } = await requestFor(config, env.IMAGES, action);
  // The clicking channel's policy: an image from an unfiltered channel, clicked elsewhere, is filtered.
  const settings = serverSettings(config, interaction.guild_id);
  const prepared = await prepareGeneration(config, request, channelPolicy(settings, interaction));
  const generation = zoomedFrom ? { ...prepared.generation, zoomedFrom } : prepared.generation;
  await takeImageSlots(
    env,
    config,
    { userId, guildId: interaction.guild_id },
    generation.images.length,
    settings.rateLimit,
  );
  // Zoom out's init image waits in R2 for the queue consumer, like an API job's (job-inputs.ts).
  await storeJobInputs(env.IMAGES, prepared);
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
