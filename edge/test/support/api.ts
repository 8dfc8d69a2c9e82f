// Helpers for the edge tests, inside workerd: API keys written to the real local KV the way
// infra/keys/keys.ts writes them, requests through the Worker's front door (SELF), and what the
// fake gpu-worker received (it runs in Node as the outbound service; see test/node).
import { env, SELF } from 'cloudflare:test';
import { type ApiKeyRecord, generateApiKey, newApiKeyRecord } from '../../src/auth/api-key.ts';

export const ORIGIN = 'https://edge.test';

export async function createApiKey(
  options: { rateLimit?: ApiKeyRecord['rate_limit']; revoked?: boolean; quota?: ApiKeyRecord['quota'] } = {},
) {
  const key = generateApiKey();
  const record = await newApiKeyRecord(key, 'test key', options.rateLimit, undefined, options.quota);
  if (options.revoked) record.revoked_at = new Date().toISOString();
  await env.API_KEYS.put(record.hash, JSON.stringify(record), { metadata: record });
  return { key, record };
}

export function call(path: string, init: RequestInit & { key?: string } = {}): Promise<Response> {
  const { key, ...rest } = init;
  const headers = new Headers(rest.headers);
  if (key) headers.set('Authorization', `Bearer ${key}`);
  return SELF.fetch(`${ORIGIN}${path}`, { ...rest, headers });
}

export function postJson(path: string, body: unknown, key: string, headers: Record<string, string> = {}) {
  return call(path, {
    method: 'POST',
    key,
    headers: { 'Content-Type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
}

// The record type lives with the fake (Node side); a type-only import is erased in workerd.
import type { ReceivedJob } from '../node/fake-gpu-worker.ts';

export type { ReceivedJob };

/** Jobs the fake gpu-workers received whose prompt text is `prompt`. */
export async function gpuCalls(prompt: string): Promise<ReceivedJob[]> {
  const response = await fetch(`http://control.gpu.test/calls?prompt=${encodeURIComponent(prompt)}`);
  return response.json();
}

export async function gpuCancels(jobId: string): Promise<{ host: string; job_id: string }[]> {
  const response = await fetch(`http://control.gpu.test/cancels?job=${encodeURIComponent(jobId)}`);
  return response.json();
}

export async function gpuInterrupts(jobId: string): Promise<{ host: string; job_id: string }[]> {
  const response = await fetch(`http://control.gpu.test/interrupts?job=${encodeURIComponent(jobId)}`);
  return response.json();
}

export interface ReceivedWebhook {
  host: string;
  path: string;
  headers: Record<string, string>;
  body: string;
}

/** Webhook deliveries the fake receivers got for a job. */
export async function webhooksFor(jobId: string): Promise<ReceivedWebhook[]> {
  const response = await fetch(`http://control.gpu.test/webhooks?job=${encodeURIComponent(jobId)}`);
  return response.json();
}

/** Polls until `check` returns a value, up to ~5 s. */
export async function eventually<T>(check: () => Promise<T | undefined>): Promise<T> {
  for (let i = 0; i < 100; i++) {
    const value = await check();
    if (value !== undefined) return value;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error('condition not met in time');
}

/** A prompt no other test uses, so the fake's records and the caches are this test's own. */
export function uniquePrompt(text: string): string {
  return `${text} ${crypto.randomUUID().slice(0, 8)}`;
}

export interface ErrorBody {
  error: { code: string; message: string; field?: string; rule?: string };
}

/** A PNG's signature and IHDR chunk (all a header reader needs) for a width × height image, base64. */
export function pngHeaderBase64(width: number, height: number, tail: number[] = []): string {
  const bytes = new Uint8Array(33 + tail.length);
  bytes.set([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52]);
  const view = new DataView(bytes.buffer);
  view.setUint32(16, width);
  view.setUint32(20, height);
  bytes.set([8, 6, 0, 0, 0], 24); // 8-bit RGBA
  bytes.set(tail, 33);
  return btoa(String.fromCharCode(...bytes));
}
