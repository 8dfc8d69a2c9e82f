// The few Discord REST calls the edge makes, all on the interaction webhook, authorised by the
// interaction's own token (no bot token travels): edit the deferred reply, post a follow-up,
// delete the message a button sits on (SD-NOTES §5.3). Every call sends the User-Agent and
// Content-Type Discord requires (§5.4): JSON, or multipart/form-data when files go with the
// message (`payload_json` and one `files[n]` part per file, n being the file's placeholder id in
// `attachments`; discord-api-docs `reference.mdx`, "Uploading Files"). A 429 is waited out once
// when Discord asks for a short wait, unless the caller would rather skip; otherwise failures
// are reported as DiscordApiError, never retried blindly, because Workers share egress IPs and
// invalid requests count toward an IP ban (§5.7).
import { version } from '../../package.json';
import { RESTJSONErrorCodes, Routes } from './discord-constants.ts';
import type { InteractionRef } from './discord-job.ts';
import type { MessageBody } from './image-message.ts';

/** Longest Retry-After waited out in place; longer ones go back to the queue. */
export const MAX_INLINE_WAIT_SECONDS = 5;
const TIMEOUT_MS = 15_000;

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

/** A file uploaded with a message, listed in its `attachments` as `{ id: n, filename: name }`. */
export interface MessageFile {
  name: string;
  contentType: string;
  bytes: Uint8Array;
}

export interface SendOptions {
  /** Uploaded as `files[0]`, `files[1]`, … in that order. */
  files?: readonly MessageFile[];
  /** Wait out a short 429 and try once more (the default), or report it at once. */
  waitOutRateLimit?: boolean;
  timeoutMs?: number;
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

/** A fresh body each time: a request consumes its body, and a 429 may need a second one. */
function requestBody(
  body: MessageBody | undefined,
  files: readonly MessageFile[],
): { body?: string | FormData; headers: Record<string, string> } {
  if (!body) return { headers: {} };
  if (files.length === 0) {
    return { body: JSON.stringify(body), headers: { 'Content-Type': 'application/json' } };
  }
  // fetch writes the multipart Content-Type itself, with the boundary.
  const form = new FormData();
  form.append('payload_json', JSON.stringify(body));
  files.forEach((file, n) => {
    form.append(`files[${n}]`, new Blob([file.bytes], { type: file.contentType }), file.name);
  });
  return { body: form, headers: {} };
}

async function send(
  rest: DiscordRest,
  method: string,
  path: string,
  body?: MessageBody,
  { files = [], waitOutRateLimit = true, timeoutMs = TIMEOUT_MS }: SendOptions = {},
): Promise<void> {
  const request = async () => {
    const payload = requestBody(body, files);
    try {
      return await fetch(`${rest.apiBase}${path}`, {
        method,
        headers: { 'User-Agent': `DiscordBot (${rest.baseUrl}, ${version})`, ...payload.headers },
        body: payload.body,
        signal: AbortSignal.timeout(timeoutMs),
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
    if (waitOutRateLimit && wait <= MAX_INLINE_WAIT_SECONDS) {
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

export function editOriginal(
  rest: DiscordRest,
  interaction: InteractionRef,
  body: MessageBody,
  options?: SendOptions,
) {
  return send(
    rest,
    'PATCH',
    Routes.webhookMessage(interaction.application_id, interaction.token, '@original'),
    body,
    options,
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
