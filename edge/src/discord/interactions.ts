// POST /discord/interactions: Discord's interactions endpoint (SD-NOTES §5). Order matters:
//   1. Discord must be configured (404 otherwise).
//   2. The signature headers are checked, then the body is read (bounded) and its Ed25519
//      signature verified over timestamp + raw bytes: any failure is a 401 before anything in
//      the body is parsed.
//   3. The verified body is parsed; PING → PONG; /imagine and button clicks are validated, rate
//      limited and queued, and answered within Discord's 3 seconds (deferred, or refused to the
//      user alone).
import { Hono } from 'hono';
import type { AppEnv } from '../env.ts';
import { ApiError } from '../http/api-error.ts';
import { baseUrl } from '../http/base-url.ts';
import { clickButton } from './buttons.ts';
import { discordApp } from './discord-config.ts';
import { InteractionResponseType, InteractionType } from './discord-constants.ts';
import { imagine } from './imagine.ts';
import { parseInteraction } from './interaction.ts';
import { refusalsToUser } from './interaction-responses.ts';
import {
  checkSignatureHeaders,
  SIGNATURE_HEADER,
  TIMESTAMP_HEADER,
  verifySignature,
} from './request-signature.ts';
import { sizeAutocomplete } from './size-autocomplete.ts';

/** Interactions are a few KB; a message's embeds and components come with a button click. */
const MAX_INTERACTION_BYTES = 128 * 1024;

export const discordInteractions = new Hono<AppEnv>();

function unauthorized(message: string): ApiError {
  return new ApiError(401, 'invalid_signature', message);
}

async function readBody(request: Request): Promise<Uint8Array> {
  const tooLarge = () =>
    new ApiError(413, 'too_large', `interactions are limited to ${MAX_INTERACTION_BYTES} bytes`);
  if (Number(request.headers.get('Content-Length')) > MAX_INTERACTION_BYTES) throw tooLarge();
  const body = new Uint8Array(await request.arrayBuffer());
  if (body.byteLength > MAX_INTERACTION_BYTES) throw tooLarge();
  return body;
}

discordInteractions.post('/interactions', async (c) => {
  // 1. Configured.
  const app = discordApp(c.var.config);

  // 2. Signed by Discord.
  const signature = c.req.header(SIGNATURE_HEADER);
  const timestamp = c.req.header(TIMESTAMP_HEADER);
  const problem = checkSignatureHeaders(signature, timestamp);
  if (problem) throw unauthorized(`the request signature is ${problem}`);
  const body = await readBody(c.req.raw);
  if (!(await verifySignature(app.publicKey, signature as string, timestamp as string, body))) {
    throw unauthorized('the request signature does not match');
  }

  // 3. The interaction.
  const interaction = parseInteraction(body);
  if (interaction.application_id !== app.applicationId) {
    throw new ApiError(400, 'invalid_request', `this endpoint serves application ${app.applicationId}`);
  }
  const ctx = { env: c.env, config: c.var.config, baseUrl: baseUrl(c) };
  switch (interaction.type) {
    case InteractionType.Ping:
      return c.json({ type: InteractionResponseType.Pong });
    case InteractionType.ApplicationCommand:
      return c.json(await refusalsToUser(() => imagine(ctx, interaction)));
    case InteractionType.MessageComponent:
      return c.json(await refusalsToUser(() => clickButton(ctx, interaction)));
    case InteractionType.ApplicationCommandAutocomplete:
      return c.json(sizeAutocomplete(ctx.config, interaction));
    default:
      throw new ApiError(400, 'invalid_request', `interactions of type ${interaction.type} are not handled`);
  }
});
