// A verified job envelope becomes a Job in its model's StepBatcher: read and checked against the
// served models (read-job.ts), its LoRAs merged in (or taken from the cache), its deadline set,
// and queued. POST /v1/generate and the pull loop both start jobs this way, so a pulled job runs
// exactly as a pushed one does. The caller owns the admitted job: it must call `release()` once
// the job has settled, so its LoRA set may be evicted.
import type { GpuJob } from '@latent-edge/shared/protocol/gpu-job';
import type { LoraChoice, LoraVariants, VariantLease } from '../lora/lora-variants.ts';
import type { DiffusionModel } from '../model/diffusion-model.ts';
import { readJob } from '../server/read-job.ts';
import { Job } from './job.ts';
import { ServiceError } from './service-error.ts';
import type { StepBatcher } from './step-batcher.ts';

export interface JobIntakeDeps {
  models: ReadonlyMap<string, DiffusionModel>;
  batchers: ReadonlyMap<string, StepBatcher>;
  /** Per model id: its LoRAs and their merged sessions; a model absent here has none. */
  loras: ReadonlyMap<string, LoraVariants>;
  /** The longest any job may take, whatever it asks for. */
  jobTimeoutMs: number;
}

export interface AdmittedJob {
  job: Job;
  spec: GpuJob;
  model: DiffusionModel;
  release: () => void;
}

export interface AdmitOptions {
  /** Refuses a job id that is already here (checked before any LoRA is merged). */
  isDuplicate?: (jobId: string) => boolean;
  /** The latest moment (ms since the epoch) the job is still wanted. */
  deadline?: number;
}

/** The model with the job's LoRAs merged in (built or from the cache); none for a plain job. */
async function acquireVariant(
  variants: LoraVariants | undefined,
  choices: readonly LoraChoice[],
): Promise<VariantLease | undefined> {
  if (!variants || choices.length === 0) return undefined;
  try {
    return await variants.acquire(choices);
  } catch (error) {
    throw new ServiceError(500, 'lora_failed', `merging the LoRAs failed: ${(error as Error).message}`);
  }
}

export async function admitJob(
  deps: JobIntakeDeps,
  body: Uint8Array,
  options: AdmitOptions = {},
): Promise<AdmittedJob> {
  const {
    job: spec,
    model,
    request,
    loras: choices,
  } = readJob(body, deps.models, (id) => deps.loras.get(id)?.library);
  if (options.isDuplicate?.(spec.job_id)) {
    throw new ServiceError(409, 'duplicate_job', `job ${spec.job_id} is already running here`, {
      field: 'job_id',
    });
  }
  const lease = await acquireVariant(deps.loras.get(model.id), choices);
  let timeoutMs = Math.min(spec.timeout_ms ?? deps.jobTimeoutMs, deps.jobTimeoutMs);
  if (options.deadline !== undefined)
    timeoutMs = Math.min(timeoutMs, Math.max(0, options.deadline - Date.now()));
  const job = new Job(spec.job_id, request, timeoutMs, lease?.model);
  try {
    (deps.batchers.get(model.id) as StepBatcher).submit(job);
  } catch (error) {
    lease?.release();
    throw error;
  }
  return { job, spec, model, release: () => lease?.release() };
}
