// The few Discord REST calls the edge makes, all on the interaction webhook, authorised by the
// interaction's own token (no bot token travels): edit the deferred reply, post a follow-up,
// delete the message a button sits on (SD-NOTES §5.3). Every call sends the User-Agent and
// Content-Type Discord requires (§5.4). A 429 is waited out once when Discord asks for a short
// wait; otherwise failures are reported as DiscordApiError, never retried blindly, because
// Workers share egress IPs and invalid requests count toward an IP ban (§5.7).
import { version } from '../../package.json';
import { RESTJSONErrorCodes, Routes } from './discord-constants.ts';
import type { InteractionRef } from './discord-job.ts';
import type { MessageBody } from './image-message.ts';

/** Longest Retry-After waited out in place; longer ones go back to the queue. */
const MAX_INLINE_WAIT_SECONDS = 5;

export class DiscordApiError extends Error {
  override readonly name = 'DiscordApiError';

  constructor(
    readonly status: number,
    message: string,
    readonly code?: number,
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
  }

  /** The token expired, or the message was deleted: nothing left to answer. */
  get gone(): boolean {
    return (
      this.status === 404 ||
      this.code === RESTJSONErrorCodes.UnknownWebhook ||
      this.code === RESTJSONErrorCodes.UnknownMessage ||
      this.code === RESTJSONErrorCodes.InvalidWebhookToken
    );
  }

  /** Worth another try later: unreachable (status 0), rate limited, or Discord failed. */
  get retryable(): boolean {
    return this.status === 0 || this.status === 429 || this.status >= 500;
  }
}

export interface DiscordRest {
  apiBase: string;
  /** Our public origin, for the User-Agent. */
  baseUrl: string;
}

interface ErrorBody {
  code?: number;
  message?: string;
  /** Seconds, on a 429. */
  retry_after?: number;
}

async function readError(response: Response): Promise<ErrorBody> {
  const text = await response.text();
  try {
    return JSON.parse(text) as ErrorBody;
  } catch {
    return { message: text.slice(0, 200) };
  }
}

function retryAfterSeconds(response: Response, error: ErrorBody): number {
  if (typeof error.retry_after === 'number') return error.retry_after;
  const header = Number(response.headers.get('Retry-After'));
  return Number.isFinite(header) && response.headers.has('Retry-After') ? header : 60;
}

async function send(rest: DiscordRest, method: string, path: string, body?: MessageBody): Promise<void> {
  const request = async () => {
    try {
      return await fetch(`${rest.apiBase}${path}`, {
        method,
        headers: {
          'User-Agent': `DiscordBot (${rest.baseUrl}, ${version})`,
          ...(body ? { 'Content-Type': 'application/json' } : {}),
        },
        body: body ? JSON.stringify(body) : undefined,
        signal: AbortSignal.timeout(15_000),
      });
    } catch (error) {
      throw new DiscordApiError(0, `Discord could not be reached: ${(error as Error).message}`);
    }
  };
  let response = await request();
  let error: ErrorBody | undefined;
  if (response.status === 429) {
    error = await readError(response);
    const wait = retryAfterSeconds(response, error);
    if (wait <= MAX_INLINE_WAIT_SECONDS) {
      await new Promise((resolve) => setTimeout(resolve, wait * 1000));
      response = await request();
      error = undefined;
    }
  }
  if (response.ok) {
    await response.body?.cancel();
    return;
  }
  error ??= await readError(response);
  // The token is a credential: it stays out of error messages and logs.
  const route = path.replace(/^(\/webhooks\/\d+\/)[^/]+/, '$1<token>');
  throw new DiscordApiError(
    response.status,
    `Discord answered ${method} ${route} with ${response.status}${error.message ? `: ${error.message}` : ''}`,
    error.code,
    response.status === 429 ? retryAfterSeconds(response, error) : undefined,
  );
}

export function editOriginal(rest: DiscordRest, interaction: InteractionRef, body: MessageBody) {
  return send(
    rest,
    'PATCH',
    Routes.webhookMessage(interaction.application_id, interaction.token, '@original'),
    body,
  );
}

export function createFollowup(rest: DiscordRest, interaction: InteractionRef, body: MessageBody) {
  return send(rest, 'POST', Routes.webhook(interaction.application_id, interaction.token), body);
}

export function deleteOriginal(rest: DiscordRest, interaction: InteractionRef) {
  return send(
    rest,
    'DELETE',
    Routes.webhookMessage(interaction.application_id, interaction.token, '@original'),
  );
}
