// Discord signs every interaction: Ed25519 over the UTF-8 bytes of X-Signature-Timestamp followed
// by the raw body, with the application's key (SD-NOTES §5.1; discord-api-docs
// `interactions/overview.mdx`, "Validating Security Request Headers"). The body is verified as it
// arrived, byte for byte, before anything in it is parsed. Discord sends deliberately bad
// signatures to check that they are refused; timestamps outside a window either way are refused
// too, so a captured request cannot be replayed later.

export const SIGNATURE_HEADER = 'X-Signature-Ed25519';
export const TIMESTAMP_HEADER = 'X-Signature-Timestamp';
/** How far a signed timestamp may be from our clock, either way. */
export const SIGNATURE_WINDOW_SECONDS = 300;

export type SignatureFailure = 'missing' | 'malformed' | 'stale' | 'mismatch';

const keys = new Map<string, Promise<CryptoKey>>();

function hexBytes(hex: string): Uint8Array {
  const bytes = new Uint8Array(hex.length / 2);
  for (let i = 0; i < bytes.length; i++) bytes[i] = Number.parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return bytes;
}

function publicKey(hex: string): Promise<CryptoKey> {
  let key = keys.get(hex);
  if (!key) {
    key = crypto.subtle.importKey('raw', hexBytes(hex), { name: 'Ed25519' }, false, ['verify']);
    keys.set(hex, key);
    key.catch(() => keys.delete(hex));
  }
  return key;
}

/** Checks the headers alone, so a request without a usable signature is refused unread. */
export function checkSignatureHeaders(
  signature: string | undefined,
  timestamp: string | undefined,
  nowMs: number = Date.now(),
): SignatureFailure | undefined {
  if (!signature || !timestamp) return 'missing';
  if (!/^[0-9a-fA-F]{128}$/.test(signature) || !/^\d{1,12}$/.test(timestamp)) return 'malformed';
  if (Math.abs(nowMs / 1000 - Number(timestamp)) > SIGNATURE_WINDOW_SECONDS) return 'stale';
  return undefined;
}

export async function verifySignature(
  publicKeyHex: string,
  signature: string,
  timestamp: string,
  body: Uint8Array,
): Promise<boolean> {
  const prefix = new TextEncoder().encode(timestamp);
  const message = new Uint8Array(prefix.length + body.length);
  message.set(prefix);
  message.set(body, prefix.length);
  return crypto.subtle.verify('Ed25519', await publicKey(publicKeyHex), hexBytes(signature), message);
}
