// The compatible APIs translate their request into the native one and validate it with the same
// shared schema, so every limit holds everywhere; an error is reported under the field name the
// client sent (AUTOMATIC1111's `cfg_scale`, OpenAI's `size`), not ours.
import { GenerationRequest } from '@latent-edge/shared/protocol/generation-request';
import { parseWith } from '@latent-edge/shared/protocol/validation-error';
import type { z } from 'zod';
import { ApiError } from '../http/api-error.ts';

export function nativeRequest(
  input: z.input<typeof GenerationRequest>,
  clientNames: Readonly<Record<string, string>>,
): GenerationRequest {
  const parsed = parseWith(GenerationRequest, input);
  if (parsed.success) return parsed.data;
  const { field, message } = parsed.error;
  const top = field?.split(/[.[]/)[0];
  const name = top !== undefined ? clientNames[top] : undefined;
  if (!field || !top || !name) throw new ApiError(400, 'invalid_request', message, { field });
  const renamed = name + field.slice(top.length);
  throw new ApiError(400, 'invalid_request', message.replace(field, renamed), { field: renamed });
}

/** Re-labels a 400 thrown for a native field (e.g. by the model's limits) with the client's name. */
export async function withClientNames<T>(
  clientNames: Readonly<Record<string, string>>,
  run: () => Promise<T>,
): Promise<T> {
  try {
    return await run();
  } catch (error) {
    const field = error instanceof ApiError ? error.options.field : undefined;
    const name = field !== undefined ? clientNames[field] : undefined;
    if (!(error instanceof ApiError) || field === undefined || name === undefined || error.status !== 400) {
      throw error;
    }
    // Messages start with the field: "steps: 51 is above …", "negative_prompt is too long: …".
    const rest = error.message.slice(field.length);
    const message = error.message.startsWith(field) && /^[: ]/.test(rest) ? name + rest : error.message;
    throw new ApiError(400, error.code, message, {
      ...error.options,
      field: name,
    });
  }
}
