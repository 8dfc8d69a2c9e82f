// A closed-loop load generator: `clients` callers each send one request, wait for its answer and
// send the next, back to back. Requests started before the measurement window warm the server up;
// those started inside it are measured, and while they finish the clients keep the load on with
// filler requests, which are aborted (the server cancels them) once the last measured one is done.

/** Sends one request; resolves with the number of images it produced. */
export type Attempt = (signal: AbortSignal) => Promise<number>;

export interface LoadOptions {
  clients: number;
  warmupMs: number;
  measureMs: number;
  /** Called as the window opens and closes (to read counters at its edges). */
  onWindowStart?: () => Promise<void>;
  onWindowEnd?: () => Promise<void>;
}

export interface LoadResult {
  /** Latency of every request started inside the window, in ms. */
  latenciesMs: number[];
  /** Images of the requests that completed inside the window. */
  imagesInWindow: number;
  windowMs: number;
}

const now = () => performance.now();

export async function runClosedLoop(attempt: Attempt, options: LoadOptions): Promise<LoadResult> {
  const start = now();
  const windowStart = start + options.warmupMs;
  const windowEnd = windowStart + options.measureMs;
  const stop = new AbortController();
  const latenciesMs: number[] = [];
  let imagesInWindow = 0;
  let measuredInFlight = 0;
  /** Resolves after `ms`, or at once when the run stops (on an error). */
  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        stop.signal.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, Math.max(0, ms));
      stop.signal.addEventListener('abort', done);
    });

  const client = async () => {
    while (!stop.signal.aborted) {
      const started = now();
      const measured = started >= windowStart && started < windowEnd;
      if (measured) measuredInFlight++;
      try {
        const images = await attempt(stop.signal);
        const ended = now();
        if (measured) latenciesMs.push(ended - started);
        if (ended >= windowStart && ended <= windowEnd) imagesInWindow += images;
      } catch (error) {
        // Only requests outside the window (warm-up, filler) are ever aborted; other failures end the run.
        if (!(stop.signal.aborted && !measured)) throw error;
      } finally {
        if (measured) measuredInFlight--;
      }
    }
  };

  const edges = (async () => {
    await sleep(windowStart - now());
    if (stop.signal.aborted) return;
    await options.onWindowStart?.();
    await sleep(windowEnd - now());
    if (stop.signal.aborted) return;
    await options.onWindowEnd?.();
    while (measuredInFlight > 0 && !stop.signal.aborted) await sleep(20);
    stop.abort();
  })();

  const clients = Array.from({ length: options.clients }, client);
  try {
    await Promise.all([edges, ...clients]);
  } finally {
    stop.abort();
    await Promise.allSettled(clients);
  }
  return { latenciesMs, imagesInWindow, windowMs: options.measureMs };
}
