// One generation job inside the worker: its request, its images while they denoise, its state,
// and the promise its HTTP request waits on. Progress is published to listeners (the event
// stream of a later issue) without the denoise loop waiting for them.
import type { DenoisingImage } from '../pipeline/denoise.ts';
import type { EncodedPrompts } from '../pipeline/encode-prompt.ts';
import type { GeneratedImage, GenerateRequest } from '../pipeline/generate.ts';
import { cancelled, deadlineExceeded, type ServiceError } from './service-error.ts';

export type JobState = 'queued' | 'running' | 'done' | 'failed' | 'cancelled';

export type JobEvent =
  | { type: 'queued'; position: number }
  | { type: 'step'; step: number; total: number; elapsedMs: number }
  | { type: 'done' }
  | { type: 'failed'; code: string; message: string };

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
  stepsDone = 0;

  constructor(
    readonly id: string,
    readonly request: GenerateRequest,
    readonly timeoutMs: number,
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
    if (this.state !== 'cancelled') this.state = 'failed';
    const code = 'code' in error ? String(error.code) : 'internal';
    this.emit({ type: 'failed', code, message: error.message });
    this.rejectDone(error);
  }

  subscribe(listener: (event: JobEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  emit(event: JobEvent): void {
    for (const listener of this.listeners) listener(event);
  }
}
