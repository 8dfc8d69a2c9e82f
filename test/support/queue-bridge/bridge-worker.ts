// The queue bridge: a Worker that is the push consumer of the GPU queues under `wrangler dev`,
// forwarding each message to the fake Cloudflare Queues API (test/support/fake-queues.ts) as a
// REST push to the queue of the same name (`batch.queue`), where the gpu-worker pulls it as it
// would from Cloudflare. Needed because Miniflare runs only push consumers (wrangler refuses
// `type = "http_pull"` in a config, SD-NOTES addendum), and its queue broker drops a message sent
// to a queue that has no consumer. A message is acked once the fake answered 2xx and retried
// otherwise (Miniflare's retries, per the consumer's max_retries in bridge-config.ts).
// Bodies: an object or other JSON value goes as content_type "json", exactly what the edge's
// contentType "json" sends; a string goes as "text" (the consumer side cannot tell a json string
// from a text message); bytes go as "bytes", which the REST API has not got, so the fake refuses
// them and records a violation rather than the message vanishing. Attempts and timestamps start
// afresh in the fake: it sees the message when the bridge pushes it, after any send delay.
// Typed by hand: test/ type-checks against Node's types, not @cloudflare/workers-types.

interface BridgeEnv {
  /** The fake's `<origin>/client/v4`. */
  FAKE_QUEUES_API_BASE: string;
  FAKE_QUEUES_ACCOUNT_ID: string;
  FAKE_QUEUES_TOKEN: string;
}

/** The part of workers-types' `Message` and `MessageBatch` the bridge uses. */
interface QueueMessage {
  id: string;
  body: unknown;
  ack(): void;
  retry(): void;
}

interface MessageBatch {
  queue: string;
  messages: readonly QueueMessage[];
}

function base64(bytes: Uint8Array): string {
  let binary = '';
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary);
}

function restMessage(body: unknown): { body: unknown; content_type: string } {
  if (typeof body === 'string') return { body, content_type: 'text' };
  if (body instanceof ArrayBuffer) return { body: base64(new Uint8Array(body)), content_type: 'bytes' };
  if (ArrayBuffer.isView(body)) {
    return {
      body: base64(new Uint8Array(body.buffer, body.byteOffset, body.byteLength)),
      content_type: 'bytes',
    };
  }
  return { body, content_type: 'json' };
}

async function forward(message: QueueMessage, queue: string, env: BridgeEnv): Promise<void> {
  const url = `${env.FAKE_QUEUES_API_BASE}/accounts/${env.FAKE_QUEUES_ACCOUNT_ID}/queues/${encodeURIComponent(queue)}/messages`;
  try {
    const response = await fetch(url, {
      method: 'POST',
      headers: { Authorization: `Bearer ${env.FAKE_QUEUES_TOKEN}`, 'Content-Type': 'application/json' },
      body: JSON.stringify(restMessage(message.body)),
    });
    const answer = await response.text();
    if (response.ok) return message.ack();
    console.error(
      `queue bridge: ${queue} message ${message.id}: the fake answered ${response.status} ${answer}`,
    );
  } catch (error) {
    console.error(`queue bridge: ${queue} message ${message.id}: ${(error as Error).message}`);
  }
  message.retry();
}

export default {
  // One message after another, so the fake receives them in the order the queue delivered them.
  async queue(batch: MessageBatch, env: BridgeEnv): Promise<void> {
    for (const message of batch.messages) await forward(message, batch.queue, env);
  },
};
