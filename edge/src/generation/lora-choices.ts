// The LoRAs a request asks for: the `loras` field and the prompt's `<lora:name:weight>` tags,
// found in the model's list, weights of one name added up (A1111 applies every tag), weight-0
// entries dropped, in name order, so the same set always has the same cache keys. An unknown name
// is a 400 naming it and listing what the model has.
import type { LoraTag } from '@latent-edge/shared/prompt/extra-networks';
import type { GenerationRequest } from '@latent-edge/shared/protocol/generation-request';
import { LIMITS } from '@latent-edge/shared/protocol/limits';
import { ApiError } from '../http/api-error.ts';
import type { ServedLora, ServedModel } from './served-models.ts';

export interface PreparedLora extends ServedLora {
  weight: number;
}

function unknown(model: ServedModel, field: string, asWritten: string): ApiError {
  const known = model.loras.map((l) => l.name);
  return new ApiError(
    400,
    'unknown_lora',
    `${field}: ${asWritten} is not a LoRA of model "${model.config.id}"; ${known.length ? `it has ${known.join(', ')}` : 'it has none'}`,
    { field },
  );
}

export function chooseLoras(
  model: ServedModel,
  fromField: GenerationRequest['loras'],
  fromPrompt: readonly LoraTag[],
): PreparedLora[] {
  const byName = new Map<string, PreparedLora>();
  const add = (name: string, weight: number, field: string, asWritten: string) => {
    const lora = model.loras.find((l) => l.name === name);
    if (!lora) throw unknown(model, field, asWritten);
    byName.set(name, { ...lora, weight: (byName.get(name)?.weight ?? 0) + weight });
  };
  for (const [i, l] of fromField.entries()) add(l.name, l.weight, `loras[${i}].name`, JSON.stringify(l.name));
  for (const tag of fromPrompt) add(tag.name, tag.weight, 'prompt', `<lora:${tag.name}:${tag.weight}>`);
  const chosen = [...byName.values()].filter((l) => l.weight !== 0);
  for (const l of chosen) {
    if (Math.abs(l.weight) > LIMITS.maxLoraWeight) {
      throw new ApiError(
        400,
        'invalid_request',
        `loras: LoRA "${l.name}" adds up to weight ${l.weight}; at most ±${LIMITS.maxLoraWeight}`,
        { field: 'loras' },
      );
    }
  }
  if (chosen.length > LIMITS.maxLoras) {
    throw new ApiError(400, 'invalid_request', `loras: ${chosen.length} LoRAs; at most ${LIMITS.maxLoras}`, {
      field: 'loras',
    });
  }
  return chosen.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}
