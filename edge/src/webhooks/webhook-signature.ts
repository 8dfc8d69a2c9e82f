// Webhook signatures as the Standard Webhooks specification defines them
// (github.com/standard-webhooks/standard-webhooks, spec/standard-webhooks.md): HMAC-SHA256 over
// `${webhook-id}.${webhook-timestamp}.${body}`, base64, sent as `webhook-signature: v1,<sig>`,
// so receivers can verify with that project's libraries. Each API key has its own secret,
// `whsec_<base64>`, derived from WEBHOOK_SECRET and the key id, so a leaked one exposes one key.

const encoder = new TextEncoder();

function base64(bytes: ArrayBuffer | Uint8Array): string {
  return btoa(String.fromCharCode(...new Uint8Array(bytes)));
}

async function hmac(key: BufferSource, message: string): Promise<ArrayBuffer> {
  const cryptoKey = await crypto.subtle.importKey('raw', key, { name: 'HMAC', hash: 'SHA-256' }, false, [
    'sign',
  ]);
  return crypto.subtle.sign('HMAC', cryptoKey, encoder.encode(message));
}

/** The per-key signing secret, in the `whsec_` form receivers configure. */
export async function webhookSecret(masterSecret: string, keyId: string): Promise<string> {
  return `whsec_${base64(await hmac(encoder.encode(masterSecret), `webhook-signing:${keyId}`))}`;
}

export async function signWebhook(
  secret: string,
  id: string,
  timestampSeconds: number,
  body: string,
): Promise<Record<string, string>> {
  const key = Uint8Array.from(atob(secret.replace(/^whsec_/, '')), (c) => c.charCodeAt(0));
  const signature = base64(await hmac(key, `${id}.${timestampSeconds}.${body}`));
  return {
    'webhook-id': id,
    'webhook-timestamp': String(timestampSeconds),
    'webhook-signature': `v1,${signature}`,
  };
}
