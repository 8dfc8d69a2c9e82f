// A pulled message's body as the DispatchMessage the edge sent. Cloudflare hands json and bytes
// messages over base64-encoded and text ones as plain UTF-8, naming which in the metadata's
// `CF-Content-Type` (SD-NOTES 6.7); without that name, base64 is tried first, then plain text.
// A body that is neither is refused with the reason, so the loop acks it: no retry could fix it.
import { DispatchMessage } from '@latent-edge/shared/protocol/dispatch';
import { parseWith } from '@latent-edge/shared/protocol/validation-error';
import type { PulledMessage } from './queues-client.ts';

export type DecodedBody = { ok: true; message: DispatchMessage } | { ok: false; reason: string };

const CONTENT_TYPE_KEY = 'CF-Content-Type';

function fromBase64(body: string): string | undefined {
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(body) || body.length % 4 !== 0) return undefined;
  return new TextDecoder('utf-8', { fatal: true }).decode(Buffer.from(body, 'base64'));
}

function parseJson(text: string | undefined): unknown {
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

export function decodeMessageBody(message: Pick<PulledMessage, 'body' | 'metadata'>): DecodedBody {
  const contentType = message.metadata?.[CONTENT_TYPE_KEY];
  let json: unknown;
  try {
    json =
      contentType === 'text'
        ? parseJson(message.body)
        : contentType === 'json' || contentType === 'bytes'
          ? parseJson(fromBase64(message.body))
          : (parseJson(fromBase64(message.body)) ?? parseJson(message.body));
  } catch {
    json = undefined; // invalid UTF-8 inside the base64
  }
  if (json === undefined) return { ok: false, reason: 'the body is not JSON (plain or base64-encoded)' };
  const parsed = parseWith(DispatchMessage, json);
  if (!parsed.success) return { ok: false, reason: parsed.error.message };
  return { ok: true, message: parsed.data };
}
