// HMAC-SHA256 and SHA-256 through WebCrypto, which workerd and Node 20 both provide.

const encoder = new TextEncoder();

export type MessagePart = string | Uint8Array;

function concat(parts: readonly MessagePart[]): Uint8Array<ArrayBuffer> {
  const bytes = parts.map((p) => (typeof p === 'string' ? encoder.encode(p) : p));
  const out = new Uint8Array(bytes.reduce((n, b) => n + b.length, 0));
  let offset = 0;
  for (const b of bytes) {
    out.set(b, offset);
    offset += b.length;
  }
  return out;
}

export function toHex(bytes: ArrayBuffer | Uint8Array): string {
  const view = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  let hex = '';
  for (const b of view) hex += b.toString(16).padStart(2, '0');
  return hex;
}

const keys = new Map<string, Promise<CryptoKey>>();

function hmacKey(secret: string): Promise<CryptoKey> {
  let key = keys.get(secret);
  if (!key) {
    key = crypto.subtle.importKey('raw', encoder.encode(secret), { name: 'HMAC', hash: 'SHA-256' }, false, [
      'sign',
    ]);
    if (keys.size > 16) keys.clear();
    keys.set(secret, key);
  }
  return key;
}

/** Hex HMAC-SHA256 of the parts, concatenated. */
export async function hmacSha256Hex(secret: string, ...parts: MessagePart[]): Promise<string> {
  const signature = await crypto.subtle.sign('HMAC', await hmacKey(secret), concat(parts));
  return toHex(signature);
}

export async function sha256Hex(data: MessagePart): Promise<string> {
  return toHex(await crypto.subtle.digest('SHA-256', concat([data])));
}

/** Compares two hex strings in time independent of where they differ. */
export function constantTimeEqual(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}
