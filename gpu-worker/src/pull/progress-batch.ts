// The events a pulled job's next progress post carries. Steps and previews supersede each
// other, so only the latest of each is kept; queue positions are few and each one says something,
// so they are kept in order. The final events are not posted: the result or failure says that.
// A post carries at most MAX_EVENTS_PER_POST events (the protocol's limit): past it the oldest
// queue positions are dropped, since a later position says where the job is.
import type { GpuJobEvent } from '@latent-edge/shared/protocol/job-events';

export const MAX_EVENTS_PER_POST = 100;

export class ProgressBatch {
  private queued: GpuJobEvent[] = [];
  private progress?: GpuJobEvent;
  private preview?: GpuJobEvent;

  add(event: GpuJobEvent): void {
    if (event.type === 'queued') this.queued.push(event);
    else if (event.type === 'progress') this.progress = event;
    else if (event.type === 'preview') this.preview = event;
  }

  get empty(): boolean {
    return this.queued.length === 0 && !this.progress && !this.preview;
  }

  /** The events to post now, in the order they happened, and an empty batch after. */
  take(): GpuJobEvent[] {
    const latest = [this.progress, this.preview].filter((e): e is GpuJobEvent => e !== undefined);
    const queued = this.queued.slice(-(MAX_EVENTS_PER_POST - latest.length));
    this.queued = [];
    this.progress = undefined;
    this.preview = undefined;
    return [...queued, ...latest];
  }
}
