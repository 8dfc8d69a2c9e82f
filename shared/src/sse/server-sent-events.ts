// Server-sent events (WHATWG HTML §9.2) both ways: writing one event, and reading a response body
// as events. Parsing is eventsource-parser's (exact line and field rules, CR/LF/CRLF, comments);
// writing is short because our data is always one line of JSON.
import { type EventSourceMessage, EventSourceParserStream } from 'eventsource-parser/stream';

export const EVENT_STREAM_CONTENT_TYPE = 'text/event-stream';

export type { EventSourceMessage };

export interface OutgoingEvent {
  id?: string | number;
  event?: string;
  data: unknown;
}

/** One event, JSON data on a single line (JSON.stringify never emits a raw line break). */
export function formatEvent({ id, event, data }: OutgoingEvent): string {
  let text = '';
  if (id !== undefined) text += `id: ${id}\n`;
  if (event !== undefined) text += `event: ${event}\n`;
  return `${text}data: ${JSON.stringify(data)}\n\n`;
}

/** A comment line: ignored by clients, keeps proxies and idle timeouts from closing the stream. */
export const KEEP_ALIVE = ': keep-alive\n\n';

/** The events of a text/event-stream body, in order, until it ends. */
export async function* readEvents(body: ReadableStream<Uint8Array>): AsyncGenerator<EventSourceMessage> {
  const reader = body
    .pipeThrough(new TextDecoderStream() as unknown as TransformStream<Uint8Array, string>)
    .pipeThrough(new EventSourceParserStream())
    .getReader();
  try {
    while (true) {
      const { value, done } = await reader.read();
      if (done) return;
      yield value;
    }
  } finally {
    await reader.cancel().catch(() => undefined);
  }
}
