// Turns a verified job envelope into a pipeline request for a served model, or a ServiceError
// naming the field at fault.
import { bytesToFloat32, decodeEnvelope, EnvelopeError } from '@latent-edge/shared/protocol/envelope';
import { GpuJob } from '@latent-edge/shared/protocol/gpu-job';
import { parseWith } from '@latent-edge/shared/protocol/validation-error';
import type { LoraLibrary } from '../lora/lora-library.ts';
import type { LoraChoice } from '../lora/lora-variants.ts';
import type { DiffusionModel } from '../model/diffusion-model.ts';
import { checkGenerateRequest, RequestError } from '../pipeline/check-request.ts';
import type { GenerateRequest } from '../pipeline/generate.ts';
import { ServiceError } from '../service/service-error.ts';

export interface ReadJob {
  job: GpuJob;
  model: DiffusionModel;
  request: GenerateRequest;
  /** The LoRAs asked for, found in the model's library (weights as given). */
  loras: LoraChoice[];
}

function part(
  parts: Record<string, Uint8Array>,
  name: string | undefined,
  field: string,
): Uint8Array | undefined {
  if (name === undefined) return undefined;
  const bytes = parts[name];
  if (!bytes)
    throw new ServiceError(400, 'invalid_request', `${field}: the envelope has no part "${name}"`, { field });
  return bytes;
}

function findLoras(job: GpuJob, library: LoraLibrary | undefined): LoraChoice[] {
  return job.loras.map((choice, i) => {
    const entry = library?.entries.get(choice.name);
    const field = `loras[${i}]`;
    if (!entry) {
      const known = [...(library?.entries.keys() ?? [])];
      throw new ServiceError(
        400,
        'unknown_lora',
        `model "${job.model}" has no LoRA "${choice.name}" (${known.length ? `it has ${known.join(', ')}` : 'it has none'})`,
        { field: `${field}.name` },
      );
    }
    if (choice.sha256 && choice.sha256 !== entry.sha256) {
      throw new ServiceError(
        409,
        'lora_mismatch',
        `LoRA "${choice.name}" of model "${job.model}" is ${entry.sha256} here, not ${choice.sha256}`,
        { field: `${field}.sha256` },
      );
    }
    return { entry, weight: choice.weight };
  });
}

export function readJob(
  body: Uint8Array,
  models: ReadonlyMap<string, DiffusionModel>,
  libraryOf: (modelId: string) => LoraLibrary | undefined = () => undefined,
): ReadJob {
  let envelope: ReturnType<typeof decodeEnvelope>;
  try {
    envelope = decodeEnvelope(body);
  } catch (error) {
    if (error instanceof EnvelopeError) throw new ServiceError(400, 'invalid_request', error.message);
    throw error;
  }
  const parsed = parseWith(GpuJob, envelope.head);
  if (!parsed.success) {
    throw new ServiceError(400, 'invalid_request', parsed.error.message, { field: parsed.error.field });
  }
  const job = parsed.data;
  const model = models.get(job.model);
  if (!model) {
    throw new ServiceError(
      404,
      'unknown_model',
      `model "${job.model}" is not served here (${[...models.keys()].join(', ')})`,
      {
        field: 'model',
      },
    );
  }
  if (job.revision && job.revision !== model.revision) {
    throw new ServiceError(
      409,
      'revision_mismatch',
      `model "${job.model}" is at revision ${model.revision}, not ${job.revision}`,
      {
        field: 'revision',
      },
    );
  }
  const embedding = (name: string | undefined, field: string) => {
    const bytes = part(envelope.parts, name, field);
    if (!bytes) return undefined;
    try {
      return bytesToFloat32(bytes);
    } catch (error) {
      throw new ServiceError(400, 'invalid_request', `${field}: ${(error as Error).message}`, { field });
    }
  };
  const request: GenerateRequest = {
    prompt: {
      chunks: job.prompt.chunks,
      chunks2: job.prompt.chunks_2,
      embedding: embedding(job.prompt.embedding, 'prompt.embedding'),
    },
    negativePrompt: {
      chunks: job.negative_prompt.chunks,
      chunks2: job.negative_prompt.chunks_2,
      embedding: embedding(job.negative_prompt.embedding, 'negative_prompt.embedding'),
    },
    width: job.width,
    height: job.height,
    steps: job.steps,
    guidanceScale: job.guidance_scale,
    guidanceRescale: job.guidance_rescale,
    scheduler: job.scheduler,
    seeds: job.seeds,
    outputFormat: job.output_format,
    initImage: part(envelope.parts, job.init_image, 'init_image'),
    strength: job.strength,
    outpaint: job.outpaint && {
      left: job.outpaint.left,
      right: job.outpaint.right,
      top: job.outpaint.top,
      bottom: job.outpaint.bottom,
      blur: job.outpaint.blur,
      maskedContent: job.outpaint.masked_content,
    },
    inpaint: job.inpaint && {
      mask: part(envelope.parts, job.inpaint.mask, 'inpaint.mask') as Uint8Array, // a name always gives bytes or throws
      source: job.inpaint.source,
      invert: job.inpaint.invert,
      blur: job.inpaint.blur,
      maskedContent: job.inpaint.masked_content,
      onlyMasked: job.inpaint.only_masked,
      onlyMaskedPadding: job.inpaint.only_masked_padding,
    },
    promptText: job.prompt_text,
    negativePromptText: job.negative_prompt_text,
    previewEvery: job.preview_every,
  };
  try {
    checkGenerateRequest(model, request);
  } catch (error) {
    if (error instanceof RequestError) {
      throw new ServiceError(400, 'invalid_request', error.message, { field: error.field });
    }
    throw error;
  }
  return { job, model, request, loras: findLoras(job, libraryOf(model.id)) };
}
