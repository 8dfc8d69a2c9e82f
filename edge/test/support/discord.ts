// Helpers for the Discord tests, inside workerd: interactions (built and signed by
// ../node/fake-discord-interactions.ts, shared with the end-to-end test) sent through the
// Worker's front door (SELF) with the key pair the fake Discord made for this run; and the calls
// the fake Discord REST API recorded (edge/test/node/fake-discord.ts), read through its control
// host.
import { SELF } from 'cloudflare:test';
import { TEST_DISCORD_APPLICATION_ID, TEST_GUILDS } from '../node/fake-discord-ids.ts';
import {
  type DiscordCall,
  interactionClient,
  waitForCalls as waitUntilCalls,
  waitForDelivery as waitUntilDelivered,
} from '../node/fake-discord-interactions.ts';
import { ORIGIN } from './api.ts';

export {
  autocompleteInteraction,
  buttonInteraction,
  buttonsOf,
  type DiscordCall,
  type ImagineOptions,
  type InteractionOptions,
  imagineInteraction,
  isProgressEdit,
  messageFrom,
  newUserId,
  pingInteraction,
  type SignOptions,
  snowflake,
} from '../node/fake-discord-interactions.ts';
export { TEST_DISCORD_APPLICATION_ID, TEST_GUILDS };

const hexBytes = (hex: string) => Uint8Array.from(hex.match(/../g) ?? [], (b) => Number.parseInt(b, 16));

let secretKey: Uint8Array | undefined;
async function signingKey(): Promise<Uint8Array> {
  if (!secretKey) {
    const keys = (await (await fetch('http://control.discord.test/keys')).json()) as { secret_key: string };
    secretKey = hexBytes(keys.secret_key);
  }
  return secretKey;
}

export const { signedHeaders, postInteractionBody, interact } = interactionClient({
  url: `${ORIGIN}/discord/interactions`,
  secretKey: signingKey,
  fetch: (url, init) => SELF.fetch(url, init),
});

export async function discordCalls(token: string): Promise<DiscordCall[]> {
  const response = await fetch(`http://control.discord.test/calls?token=${encodeURIComponent(token)}`);
  return response.json();
}

/** Waits (up to 10 s) for the fake Discord to have `count` calls with this token. */
export function waitForCalls(token: string, count = 1): Promise<DiscordCall[]> {
  return waitUntilCalls(() => discordCalls(token), { count, what: `token ${token}` });
}

/** Waits (up to 30 s) for the call that delivers this interaction's job, past any progress edits,
 * and returns every call with its token. */
export function waitForDelivery(token: string): Promise<DiscordCall[]> {
  return waitUntilDelivered(() => discordCalls(token), { what: `the delivery for token ${token}` });
}
