// Reads and validates a JSON request body, once, at the boundary: the media type (415), the size
// against a stated limit (413), UTF-8 and JSON syntax (400), then the shared zod schema, whose
// messages name the field, the value and the rule (400). A body with a Content-Length within the
// limit is read whole in one call; the HTTP framing holds it to that length. Any other body, one
// sent chunked (a Content-Length beside Transfer-Encoding frames nothing: the runtime passes both
// headers and reads the chunks) or with no length, is counted while it streams and refused as
// soon as it passes the limit.
import { parseWith } from '@latent-edge/shared/protocol/validation-error';
import type { Context } from 'hono';
import type { z } from 'zod';
import { ApiError } from './api-error.ts';

const JSON_MEDIA_TYPE = /^application\/(?:[\w.+-]+\+)?json\s*(?:;|$)/i;

export async function readLimited(request: Request, maxBytes: number): Promise<Uint8Array> {
  const tooLarge = () =>
    new ApiError(413, 'too_large', `request bodies on this route are limited to ${maxBytes} bytes`);
  const length = request.headers.get('Content-Length');
  const declared = length !== null && /^\d+$/.test(length) ? Number(length) : undefined;
  if (declared !== undefined && declared > maxBytes) throw tooLarge();
  if (!request.body) return new Uint8Array(0);
  if (declared !== undefined && !request.headers.has('Transfer-Encoding')) {
    const body = new Uint8Array(await request.arrayBuffer());
    // Only a Request made inside the isolate can carry more than it declares; still not accepted.
    if (body.byteLength > maxBytes) throw tooLarge();
    return body;
  }
  const chunks: Uint8Array[] = [];
  let total = 0;
  const reader = request.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > maxBytes) {
      // Stop reading; the runtime discards the rest of the body with the request.
      reader.releaseLock();
      throw tooLarge();
    }
    chunks.push(value);
  }
  const body = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    body.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return body;
}

export async function readJson<T extends z.ZodType>(
  c: Context,
  schema: T,
  maxBytes: number,
): Promise<z.output<T>> {
  const contentType = c.req.header('Content-Type') ?? '';
  if (!JSON_MEDIA_TYPE.test(contentType)) {
    throw new ApiError(
      415,
      'unsupported_media_type',
      `send the body as JSON with "Content-Type: application/json"${contentType ? `, not ${JSON.stringify(contentType.slice(0, 100))}` : ''}`,
    );
  }
  const bytes = await readLimited(c.req.raw, maxBytes);
  let body: unknown;
  try {
    body = JSON.parse(new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(bytes));
  } catch (error) {
    const reason = error instanceof SyntaxError ? error.message : 'it is not valid UTF-8';
    throw new ApiError(400, 'invalid_json', `the body is not valid JSON: ${reason}`);
  }
  const parsed = parseWith(schema, body);
  if (!parsed.success) {
    throw new ApiError(400, parsed.error.code, parsed.error.message, { field: parsed.error.field });
  }
  return parsed.data;
}
