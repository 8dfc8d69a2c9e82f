// What a key's usage is made of: shared by its KeyUsage object, the routes that show it and the
// keys CLI (which runs in Node, so nothing here imports the Workers runtime).

/** What one finished job used. */
export interface JobUsage {
  /** Images the gpu-worker made. */
  images: number;
  /** Images answered from the result cache (no gpu-worker work; not counted against quotas). */
  cachedImages: number;
  /** Σ steps × width × height over the images made: the work, independent of the hardware. */
  stepPixels: number;
  /** gpu-worker milliseconds (its timings' total less the time queued there). */
  workerMs: number;
}

export interface UsageTotals {
  jobs: number;
  images: number;
  cached_images: number;
  step_pixels: number;
  worker_seconds: number;
}

export interface UsageReport {
  day: string;
  month: string;
  today: UsageTotals;
  this_month: UsageTotals;
  total: UsageTotals;
  /** Images of admitted jobs still running (they count against today's quota). */
  reserved_images: number;
}
