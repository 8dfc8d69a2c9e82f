// Step-level continuous batching for one model. Jobs wait in a bounded queue; between denoise
// steps, waiting jobs join the running set (up to MAX_BATCH images) after their prompts are
// encoded and latents prepared; each step runs ONE UNet call for every running image that shares
// a latent shape and text length, whatever their schedulers, guidance scales or step counts; a
// job leaves when its last step is done and is decoded. Every image keeps its own scheduler and
// generator, so its pixels are the same as when it runs alone. A job with LoRAs brings the model
// with them merged in (same VAE and shapes, other UNet/text-encoder sessions): it is encoded and
// stepped with that model, and shares UNet calls only with jobs of the same LoRA set. A job's
// client pictures (init image, mask) are decoded from the moment it is queued, beside the loop:
// the loop steps the running jobs meanwhile and admits the job once its pictures are ready, so a
// slow decode delays that job alone.

import { ImageDecodeError } from '../image/image-codec.ts';
import type { DiffusionModel } from '../model/diffusion-model.ts';
import { RequestError } from '../pipeline/check-request.ts';
import { batchKey, type DenoisingImage, denoiseStep, endEarly, isFinished } from '../pipeline/denoise.ts';
import {
  type DecodedInputs,
  decodeImages,
  decodeInputs,
  encodeImages,
  encodeRequestPrompts,
  prepareImages,
  StageTimer,
} from '../pipeline/generate.ts';
import type { LatentRgbMap } from '../pipeline/latent-preview.ts';
import { previewMapFor, renderPreview } from '../pipeline/preview.ts';
import type { TextEncoderCache } from '../pipeline/text-encoder-cache.ts';
import type { Job } from './job.ts';
import type { Metrics } from './metrics.ts';
import { ServiceError } from './service-error.ts';

export interface BatcherOptions {
  maxBatch: number;
  queueSize: number;
}

export class StepBatcher {
  private readonly waiting: Job[] = [];
  private readonly running: Job[] = [];
  /** The job whose prompts are being encoded on its way from waiting to running, if any. */
  private starting?: Job;
  /** Jobs past their last step, being decoded and encoded while the loop steps the others. */
  private readonly finishing = new Set<Promise<void>>();
  private loop: Promise<void> | undefined;
  private recentJobMs = 0;
  /** Recent duration of one batched step, for the ETA of a job that has not stepped yet. */
  private recentStepMs = 0;
  private readonly previewMap: LatentRgbMap | undefined;
  /** Queued jobs' pictures being decoded; `settled` once the decode is done either way. */
  private readonly decoding = new WeakMap<Job, { settled: boolean; inputs: Promise<DecodedInputs> }>();

  constructor(
    private readonly model: DiffusionModel,
    private readonly options: BatcherOptions,
    private readonly cache: TextEncoderCache,
    private readonly metrics: Metrics,
  ) {
    this.previewMap = previewMapFor(model);
  }

  get queueDepth(): number {
    return this.waiting.length;
  }

  get runningCount(): number {
    return this.running.length;
  }

  /** Jobs between waiting and running (prompts being encoded): they hold a slot too. */
  get startingCount(): number {
    return this.starting ? 1 : 0;
  }

  get idle(): boolean {
    return this.waiting.length === 0 && this.running.length === 0 && this.finishing.size === 0;
  }

  /** Queues a job, or refuses it with 503 when the queue is full. */
  submit(job: Job): void {
    if (
      this.waiting.length >= this.options.queueSize &&
      !(this.running.length === 0 && this.waiting.length === 0)
    ) {
      throw new ServiceError(
        503,
        'queue_full',
        `the queue for model ${this.model.id} is full; retry shortly`,
        {
          retryAfterSeconds: this.retryAfterSeconds(),
        },
      );
    }
    this.waiting.push(job);
    if (job.request.initImage) {
      const entry = { settled: false, inputs: decodeInputs(job.request) };
      // Marks the outcome (and handles a rejection now; admit() awaits it for the job's error).
      entry.inputs.then(
        () => {
          entry.settled = true;
        },
        () => {
          entry.settled = true;
        },
      );
      this.decoding.set(job, entry);
    }
    job.emit({ type: 'queued', position: this.waiting.length });
    this.updateGauges();
    this.loop ??= this.run().finally(() => {
      this.loop = undefined;
    });
  }

  /** A guess at when a slot frees: one recent job's duration per queued batch ahead. */
  retryAfterSeconds(): number {
    const batchesAhead = Math.ceil((this.waiting.length + 1) / this.options.maxBatch);
    return Math.min(60, Math.max(1, Math.ceil((this.recentJobMs * batchesAhead) / 1000)));
  }

  private updateGauges(): void {
    this.metrics.queueDepth.set({ model: this.model.id }, this.waiting.length);
    this.metrics.runningJobs.set({ model: this.model.id }, this.running.length);
  }

  private runningImages(): number {
    return this.running.reduce((n, job) => n + job.images.length, 0);
  }

  private async run(): Promise<void> {
    while (this.waiting.length > 0 || this.running.length > 0 || this.finishing.size > 0) {
      this.dropStopped();
      await this.admit();
      const group = this.nextGroup();
      if (group.length > 0) {
        const started = performance.now();
        try {
          const model = this.modelOf(this.jobOf(group[0]));
          await denoiseStep(group, (input) => model.predictNoise(input));
          const stepMs = performance.now() - started;
          this.recentStepMs = this.recentStepMs === 0 ? stepMs : 0.8 * this.recentStepMs + 0.2 * stepMs;
          this.metrics.batchSize.observe({ model: this.model.id }, group.length);
          this.metrics.stepSeconds.observe({ model: this.model.id }, stepMs / 1000);
          this.reportProgress(group);
        } catch (error) {
          // The step's jobs fail; the others, and the process, go on.
          for (const job of this.running.filter((j) => j.images.some((img) => group.includes(img)))) {
            this.running.splice(this.running.indexOf(job), 1);
            this.failJob(job, error);
          }
        }
      }
      this.finishDone();
      if (group.length === 0 && this.finishing.size > 0) await Promise.race(this.finishing);
      this.updateGauges();
    }
  }

  /**
   * Jobs cancelled or past their deadline leave at the step boundary and free their slots;
   * interrupted ones end there too, and go on to be decoded.
   */
  private dropStopped(): void {
    for (const job of this.running) {
      if (!job.interrupted || job.endedEarlyAt !== undefined) continue;
      let cut = false;
      for (const image of job.images) cut = endEarly(image) || cut;
      if (cut) job.endedEarlyAt = job.stepsDone;
    }
    for (const list of [this.waiting, this.running]) {
      for (let i = list.length - 1; i >= 0; i--) {
        const reason = list[i].stopReason();
        if (reason) {
          list.splice(i, 1)[0].fail(reason);
          this.metrics.jobs.inc({ model: this.model.id, outcome: reason.code });
        }
      }
    }
  }

  /** Moves waiting jobs into the running set while their images fit in MAX_BATCH. */
  private async admit(): Promise<void> {
    while (this.waiting.length > 0) {
      const job = this.waiting[0];
      const fits = this.runningImages() + job.request.seeds.length <= this.options.maxBatch;
      if (!fits && this.running.length > 0) return;
      const decoding = this.decoding.get(job);
      // Step the others while its pictures decode; wait for them only when there is nothing else.
      if (decoding && !decoding.settled && (this.running.length > 0 || this.finishing.size > 0)) return;
      this.waiting.shift();
      this.starting = job;
      try {
        const timer = new StageTimer();
        job.startedAt = performance.now();
        job.state = 'running';
        const inputs = decoding ? await decoding.inputs : undefined;
        job.prompts = await encodeRequestPrompts(this.modelOf(job), job.request, this.cache);
        job.images = await prepareImages(this.modelOf(job), job.request, job.prompts, inputs);
        job.timings.encode = timer.lap();
        this.countEmbeddings(job);
        this.running.push(job);
        job.emit({
          type: 'progress',
          step: 0,
          steps: job.totalSteps,
          elapsed_ms: 0,
          eta_ms: this.recentStepMs * job.totalSteps,
        });
      } catch (error) {
        this.failJob(job, error);
      } finally {
        this.starting = undefined;
      }
      this.waiting.forEach((queued, i) => {
        queued.emit({ type: 'queued', position: i + 1 });
      });
    }
  }

  private countEmbeddings(job: Job): void {
    const supplied = job.request.prompt.embedding !== undefined;
    const result = supplied ? 'supplied' : job.prompts?.fromCache ? 'hit' : 'encoded';
    this.metrics.embeddingCache.inc({ model: this.model.id, result });
  }

  /**
   * The images to step together: the oldest job's, plus every other running image with the same
   * latent shape and text length (and timestep, for UNets that take one timestep per batch).
   */
  private nextGroup(): DenoisingImage[] {
    const candidates = this.running.flatMap((job) =>
      job.images.filter((img) => !isFinished(img)).map((img) => ({ img, variant: this.variantKey(job) })),
    );
    if (candidates.length === 0) return [];
    const first = candidates[0];
    const key = batchKey(first.img);
    const timestep = first.img.scheduler.timesteps[first.img.stepIndex];
    return candidates
      .filter(
        ({ img, variant }) =>
          variant === first.variant &&
          batchKey(img) === key &&
          (this.model.perRowTimesteps || img.scheduler.timesteps[img.stepIndex] === timestep),
      )
      .map(({ img }) => img);
  }

  private modelOf(job: Job): DiffusionModel {
    return job.model ?? this.model;
  }

  /** Jobs share a UNet call only with jobs of the same LoRA set (the base model's is ""). */
  private variantKey(job: Job): string {
    return this.modelOf(job).variant?.key ?? '';
  }

  private jobOf(image: DenoisingImage): Job {
    return this.running.find((job) => job.images.includes(image)) as Job;
  }

  /** Step i of N with an ETA at the job's own pace so far, and a preview when one is due. */
  private reportProgress(group: readonly DenoisingImage[]): void {
    const now = performance.now();
    for (const job of this.running) {
      if (!job.images.some((img) => group.includes(img))) continue;
      job.stepsDone++;
      const steps = job.totalSteps;
      const denoisingMs = now - job.startedAt - job.timings.encode;
      job.emit({
        type: 'progress',
        step: job.stepsDone,
        steps,
        elapsed_ms: Math.round(now - job.startedAt),
        eta_ms: Math.round((denoisingMs / job.stepsDone) * (steps - job.stepsDone)),
      });
      job.request.onStep?.(job.stepsDone, steps);
      const every = job.request.previewEvery ?? 0;
      if (every > 0 && job.stepsDone % every === 0 && job.stepsDone < steps) this.preview(job);
    }
  }

  /**
   * Renders the job's first image's x0 estimate off the loop (sharp encodes on libuv's pool); a
   * frame still encoding when the next is due makes that one skipped, never queued, and nobody
   * listening means no frame at all.
   */
  private preview(job: Job): void {
    if (!this.previewMap || job.previewPending || !job.hasListeners) return;
    const image = job.images[0];
    const step = job.stepsDone;
    job.previewPending = true;
    renderPreview(this.previewMap, this.model.spec.latentChannels, image, job.request)
      .then((frame) => {
        if (!frame || job.finished) return;
        const image = `data:image/webp;base64,${Buffer.from(frame.bytes).toString('base64')}`;
        job.emit({
          type: 'preview',
          step,
          steps: job.totalSteps,
          width: frame.width,
          height: frame.height,
          image,
        });
      })
      .catch((error: Error) => console.error(`preview of job ${job.id} failed: ${error.message}`))
      .finally(() => {
        job.previewPending = false;
      });
  }

  /**
   * Hands jobs whose images are all denoised to a decode-and-encode task, without waiting: the
   * next UNet step starts at once and the VAE can run beside it, and the job's batch slots are
   * free for waiting jobs.
   */
  private finishDone(): void {
    for (const job of [...this.running]) {
      if (!job.images.every(isFinished)) continue;
      this.running.splice(this.running.indexOf(job), 1);
      const task: Promise<void> = this.finish(job).finally(() => this.finishing.delete(task));
      this.finishing.add(task);
    }
  }

  private async finish(job: Job): Promise<void> {
    try {
      const timer = new StageTimer();
      job.timings.denoise = performance.now() - job.startedAt - job.timings.encode;
      const decoded = await decodeImages(this.modelOf(job), job.images, job.request);
      job.timings.decode = timer.lap();
      const images = await encodeImages(this.modelOf(job), decoded, job.request);
      job.timings.image = timer.lap();
      job.succeed(images);
      this.recentJobMs = performance.now() - job.startedAt;
      this.observe(job);
      this.metrics.images.inc({ model: this.model.id }, images.length);
      this.metrics.jobs.inc({ model: this.model.id, outcome: 'done' });
    } catch (error) {
      this.failJob(job, error);
    }
  }

  private observe(job: Job): void {
    for (const [stage, ms] of Object.entries(job.timings)) {
      this.metrics.stageSeconds.observe({ model: this.model.id, stage }, ms / 1000);
    }
  }

  /** A failing job fails alone: the loop and the other jobs go on. */
  private failJob(job: Job, error: unknown): void {
    const failure =
      error instanceof ServiceError
        ? error
        : error instanceof RequestError
          ? new ServiceError(400, 'invalid_request', error.message, { field: error.field })
          : error instanceof ImageDecodeError
            ? new ServiceError(400, 'invalid_request', error.message, { field: error.field })
            : new ServiceError(500, 'generation_failed', `generation failed: ${(error as Error).message}`);
    job.fail(failure);
    this.metrics.jobs.inc({ model: this.model.id, outcome: failure.code });
  }
}
