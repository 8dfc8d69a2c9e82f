// One generation job inside the worker: its request, its images while they denoise, its state,
// and the promise its HTTP request waits on. Progress is published to listeners (the job's event
// stream) without the denoise loop waiting for them; the latest of each kind is kept, so a
// listener that arrives late starts from where the job is.
import type { GpuJobEvent } from '@latent-edge/shared/protocol/job-events';
import type { DiffusionModel } from '../model/diffusion-model.ts';
import type { DenoisingImage } from '../pipeline/denoise.ts';
import type { EncodedPrompts } from '../pipeline/encode-prompt.ts';
import type { GeneratedImage, GenerateRequest } from '../pipeline/generate.ts';
import { cancelled, deadlineExceeded, type ServiceError } from './service-error.ts';

export type JobState = 'queued' | 'running' | 'done' | 'failed' | 'cancelled';

export type JobEvent = GpuJobEvent;

export interface JobOutcome {
  images: GeneratedImage[];
  prompts: EncodedPrompts;
  timingsMs: {
    queued: number;
    encode: number;
    denoise: number;
    decode: number;
    image: number;
    total: number;
  };
}

export class Job {
  state: JobState = 'queued';
  readonly arrivedAt = performance.now();
  startedAt = 0;
  images: DenoisingImage[] = [];
  prompts?: EncodedPrompts;
  readonly timings = { encode: 0, denoise: 0, decode: 0, image: 0 };
  readonly done: Promise<JobOutcome>;
  private resolveDone!: (outcome: JobOutcome) => void;
  private rejectDone!: (error: ServiceError | Error) => void;
  private readonly listeners = new Set<(event: JobEvent) => void>();
  /** The latest event of each type, for listeners that subscribe mid-job. */
  private readonly latest = new Map<JobEvent['type'], JobEvent>();
  stepsDone = 0;
  /** An interrupt came: the job ends at the next step boundary with what it has. */
  interrupted = false;
  /** The steps it had run when the interrupt cut it short (undefined: it ran to the end). */
  endedEarlyAt?: number;
  /** A preview frame is being encoded (frames are skipped rather than queued behind it). */
  previewPending = false;

  constructor(
    readonly id: string,
    readonly request: GenerateRequest,
    readonly timeoutMs: number,
    /** The model with this job's LoRAs merged in; the batcher's own model when absent. */
    readonly model?: DiffusionModel,
  ) {
    this.done = new Promise((resolve, reject) => {
      this.resolveDone = resolve;
      this.rejectDone = reject;
    });
    // The HTTP layer may stop listening (client gone) before the job settles.
    this.done.catch(() => {});
  }

  get finished(): boolean {
    return this.state === 'done' || this.state === 'failed' || this.state === 'cancelled';
  }

  get totalSteps(): number {
    const scheduler = this.images[0]?.scheduler;
    return scheduler ? scheduler.timesteps.length - scheduler.beginIndex : this.request.steps;
  }

  /** The reason to stop now, if any: cancelled or past the deadline. */
  stopReason(now = performance.now()): ServiceError | undefined {
    if (this.state === 'cancelled') return cancelled(this.id);
    if (now - this.arrivedAt > this.timeoutMs) return deadlineExceeded(this.id, this.timeoutMs);
    return undefined;
  }

  cancel(): void {
    if (this.finished) return;
    this.state = 'cancelled';
  }

  /**
   * Ends the job at the next step boundary with images of where it got to; one that has not
   * started has nothing to show, and is cancelled. False when it had already ended.
   */
  interrupt(): boolean {
    if (this.finished) return false;
    if (this.state === 'queued') this.cancel();
    else this.interrupted = true;
    return true;
  }

  succeed(images: GeneratedImage[]): void {
    this.state = 'done';
    const now = performance.now();
    this.emit({ type: 'done' });
    this.resolveDone({
      images,
      prompts: this.prompts as EncodedPrompts,
      timingsMs: { queued: this.startedAt - this.arrivedAt, ...this.timings, total: now - this.arrivedAt },
    });
  }

  fail(error: ServiceError | Error): void {
    if (this.state === 'cancelled') {
      this.emit({ type: 'cancelled' });
    } else {
      this.state = 'failed';
      const code = 'code' in error ? String(error.code) : 'internal';
      this.emit({ type: 'failed', code, message: error.message });
    }
    this.rejectDone(error);
  }

  get hasListeners(): boolean {
    return this.listeners.size > 0;
  }

  /**
   * Calls `listener` with where the job is now (queue position or last step, last preview, the
   * end if it came), then with every later event.
   */
  subscribe(listener: (event: JobEvent) => void): () => void {
    const order: JobEvent['type'][] = ['queued', 'progress', 'preview', 'done', 'failed', 'cancelled'];
    for (const type of order) {
      const event = this.latest.get(type);
      // A job that has started no longer has a queue position.
      if (event && !(type === 'queued' && this.latest.has('progress'))) listener(event);
    }
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  emit(event: JobEvent): void {
    this.latest.set(event.type, event);
    for (const listener of this.listeners) listener(event);
  }
}
