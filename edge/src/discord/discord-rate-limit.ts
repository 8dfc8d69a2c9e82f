// Per-user and per-server limits on the images people ask for through Discord, counted exactly
// by the edge's RateLimiter Durable Objects (one per user, one per server; names that cannot
// meet an API key's, which are SHA-256 hex). An image is a slot: Variations takes four. A
// refusal is a 429 whose message the interaction handler shows to the user alone.
import type { EdgeConfig } from '../config/edge-config.ts';
import { ApiError } from '../http/api-error.ts';

export interface Requester {
  userId: string;
  guildId?: string;
}

export async function takeImageSlots(
  env: Env,
  config: EdgeConfig,
  requester: Requester,
  images: number,
  serverLimit: number,
): Promise<void> {
  const windowSeconds = config.DISCORD_RATE_LIMIT_WINDOW_SECONDS;
  const user = await env.RATE_LIMITER.getByName(`discord:user:${requester.userId}`).take({
    limit: config.DISCORD_USER_RATE_LIMIT,
    windowSeconds,
    cost: images,
  });
  if (!user.allowed) {
    throw new ApiError(
      429,
      'rate_limited',
      `you can make ${user.limit} images every ${windowSeconds} s; try again in ${user.retryAfterSeconds} s`,
    );
  }
  if (!requester.guildId) return;
  const server = await env.RATE_LIMITER.getByName(`discord:guild:${requester.guildId}`).take({
    limit: serverLimit,
    windowSeconds,
    cost: images,
  });
  if (!server.allowed) {
    throw new ApiError(
      429,
      'rate_limited',
      `this server can make ${server.limit} images every ${windowSeconds} s; try again in ${server.retryAfterSeconds} s`,
    );
  }
}
