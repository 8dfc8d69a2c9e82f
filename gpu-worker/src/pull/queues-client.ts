// Cloudflare Queues' REST API for an HTTP pull consumer: pull a batch of messages under a lease
// (the visibility timeout), then acknowledge or retry each by its lease id. The response shape is
// Cloudflare's envelope `{success, errors, messages, result}` (as the official SDK reads it,
// cloudflare-typescript src/resources/queues/messages.ts); a failure in it, a non-2xx status or
// a body that is not that shape is a QueuesApiError, so the pull loop counts it and backs off.
import { z } from 'zod';

/** One message as pulled: `body` is base64 for json/bytes messages, plain UTF-8 for text. */
export const PulledMessage = z.object({
  id: z.string(),
  body: z.string(),
  attempts: z.number(),
  lease_id: z.string(),
  timestamp_ms: z.number(),
  metadata: z.record(z.string(), z.unknown()).nullish(),
});
export type PulledMessage = z.infer<typeof PulledMessage>;

const ApiEnvelope = z.object({
  success: z.boolean(),
  errors: z.array(z.object({ code: z.number().optional(), message: z.string() })).nullish(),
  result: z.unknown().nullish(),
});

const PullResult = z.object({
  message_backlog_count: z.number().optional(),
  messages: z.array(PulledMessage).nullish(),
});

export interface PullAnswer {
  messages: PulledMessage[];
  /** The queue's unacknowledged messages, when Cloudflare says. */
  backlog?: number;
}

export interface AckRequest {
  acks: { lease_id: string }[];
  retries: { lease_id: string; delay_seconds: number }[];
}

export class QueuesApiError extends Error {
  override name = 'QueuesApiError';
  constructor(
    message: string,
    /** The HTTP status, or undefined when the request never got an answer. */
    readonly status?: number,
  ) {
    super(message);
  }
}

export interface QueuesClientOptions {
  apiUrl: string;
  accountId: string;
  token: string;
  fetch?: typeof fetch;
}

export class QueuesClient {
  private readonly fetch: typeof fetch;

  constructor(private readonly options: QueuesClientOptions) {
    this.fetch = options.fetch ?? globalThis.fetch;
  }

  /** Leases up to `batchSize` messages for `visibilityTimeoutMs`; an empty queue answers at once. */
  async pull(queueId: string, batchSize: number, visibilityTimeoutMs: number): Promise<PullAnswer> {
    const result = PullResult.safeParse(
      await this.call(queueId, 'pull', { batch_size: batchSize, visibility_timeout_ms: visibilityTimeoutMs }),
    );
    if (!result.success)
      throw new QueuesApiError(`pull from queue ${queueId}: unexpected result: ${result.error.message}`);
    return { messages: result.data.messages ?? [], backlog: result.data.message_backlog_count };
  }

  async ack(queueId: string, request: AckRequest): Promise<void> {
    if (request.acks.length === 0 && request.retries.length === 0) return;
    await this.call(queueId, 'ack', request);
  }

  private async call(queueId: string, action: 'pull' | 'ack', body: object): Promise<unknown> {
    const { apiUrl, accountId, token } = this.options;
    const url = `${apiUrl}/accounts/${encodeURIComponent(accountId)}/queues/${encodeURIComponent(queueId)}/messages/${action}`;
    let response: Response;
    try {
      response = await this.fetch(url, {
        method: 'POST',
        headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
        body: JSON.stringify(body),
      });
    } catch (error) {
      throw new QueuesApiError(`${action} on queue ${queueId}: ${(error as Error).message}`);
    }
    const text = await response.text();
    let parsed: z.infer<typeof ApiEnvelope> | undefined;
    try {
      parsed = ApiEnvelope.parse(JSON.parse(text));
    } catch {
      // Not Cloudflare's envelope: reported with the status below.
    }
    if (!response.ok || !parsed?.success) {
      const reasons = parsed?.errors?.map((e) => e.message).join('; ') || text.slice(0, 200);
      throw new QueuesApiError(
        `${action} on queue ${queueId}: ${response.status} ${reasons}`,
        response.status,
      );
    }
    return parsed.result;
  }
}
