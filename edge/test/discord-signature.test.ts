// POST /discord/interactions: Discord's signature over timestamp + raw body, checked with the
// Worker's WebCrypto Ed25519 against requests signed here with tweetnacl. Every failure is a 401
// before the body is parsed; a signed PING gets a PONG.
import nacl from 'tweetnacl';
import { describe, expect, it } from 'vitest';
import { InteractionResponseType } from '../src/discord/discord-constants.ts';
import type { ErrorBody } from './support/api.ts';
import {
  imagineInteraction,
  interact,
  pingInteraction,
  postInteractionBody,
  signedHeaders,
  TEST_DISCORD_APPLICATION_ID,
} from './support/discord.ts';

async function expect401(response: Response, message: string) {
  expect(response.status).toBe(401);
  const body = (await response.json()) as ErrorBody;
  expect(body.error.code).toBe('invalid_signature');
  expect(body.error.message).toContain(message);
}

describe('Discord interaction signatures', () => {
  it('answers a signed PING with a PONG', async () => {
    const { response, body } = await interact(pingInteraction());
    expect(response.status).toBe(200);
    expect(response.headers.get('Content-Type')).toMatch(/^application\/json/);
    expect(body).toEqual({ type: InteractionResponseType.Pong });
  });

  it('returns 401 when the signature headers are missing', async () => {
    const body = JSON.stringify(pingInteraction());
    await expect401(await postInteractionBody(body, { headers: {} }), 'missing');
    const { 'X-Signature-Ed25519': signature } = await signedHeaders(body);
    await expect401(
      await postInteractionBody(body, { headers: { 'X-Signature-Ed25519': signature } }),
      'missing',
    );
  });

  it('returns 401 when the signature is malformed', async () => {
    const body = JSON.stringify(pingInteraction());
    const headers = await signedHeaders(body);
    for (const bad of [
      { ...headers, 'X-Signature-Ed25519': 'zz'.repeat(64) },
      { ...headers, 'X-Signature-Ed25519': headers['X-Signature-Ed25519'].slice(2) },
      { ...headers, 'X-Signature-Timestamp': 'yesterday' },
    ]) {
      await expect401(await postInteractionBody(body, { headers: bad }), 'malformed');
    }
  });

  it('returns 401 when the signature was made with another key', async () => {
    const other = nacl.sign.keyPair();
    const body = JSON.stringify(pingInteraction());
    await expect401(await postInteractionBody(body, { secretKey: other.secretKey }), 'does not match');
  });

  it('returns 401 when the body was changed after signing', async () => {
    const body = JSON.stringify(pingInteraction());
    const headers = await signedHeaders(body);
    // Same JSON value, other bytes: the signature covers the raw bytes, not the parsed value.
    await expect401(await postInteractionBody(`${body} `, { headers }), 'does not match');
    await expect401(
      await postInteractionBody(body.replace('"type":1', '"type":2'), { headers }),
      'does not match',
    );
  });

  it('returns 401 when the timestamp is stale or in the future, though the signature is right', async () => {
    const body = JSON.stringify(pingInteraction());
    const now = Math.floor(Date.now() / 1000);
    await expect401(await postInteractionBody(body, { timestamp: now - 600 }), 'stale');
    await expect401(await postInteractionBody(body, { timestamp: now + 600 }), 'stale');
    const { response } = await interact(pingInteraction(), { timestamp: now - 60 });
    expect(response.status).toBe(200);
  });

  it('refuses an unsigned body before parsing it: not JSON and unsigned is a 401, not a 400', async () => {
    await expect401(await postInteractionBody('{not json', { headers: {} }), 'missing');
    const other = nacl.sign.keyPair();
    await expect401(await postInteractionBody('{not json', { secretKey: other.secretKey }), 'does not match');
  });

  it('returns 400 for a signed body that is not an interaction, or is for another application', async () => {
    const notJson = await postInteractionBody('{not json');
    expect(notJson.status).toBe(400);
    expect(((await notJson.json()) as ErrorBody).error.code).toBe('invalid_json');

    const noToken = await postInteractionBody(JSON.stringify({ ...pingInteraction(), token: undefined }));
    expect(noToken.status).toBe(400);
    expect(((await noToken.json()) as ErrorBody).error.message).toContain('token');

    const elsewhere = await interact({ ...imagineInteraction({ prompt: 'x' }), application_id: '1' });
    expect(elsewhere.response.status).toBe(400);
    expect(JSON.stringify(elsewhere.body)).toContain(TEST_DISCORD_APPLICATION_ID);
  });
});
