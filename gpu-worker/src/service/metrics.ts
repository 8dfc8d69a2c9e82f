// The worker's Prometheus metrics (text format at GET /metrics), through prom-client. The
// latent_edge_worker_* ones are the scale-out signals (pull mode): slots free and busy, whether
// the worker is draining, pulls by result, how long messages waited, and redeliveries.
import { Counter, Gauge, Histogram, Registry } from 'prom-client';

/** Free and busy batch slots of one model, read when /metrics is scraped. */
export type SlotReader = () => { free: number; busy: number };

export function createMetrics() {
  const registry = new Registry();
  const slotReaders = new Map<string, SlotReader>();
  const seconds = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];
  return {
    registry,
    /** Per model id: where its slot counts come from (set once the model's batcher exists). */
    slotReaders,
    queueDepth: new Gauge({
      name: 'latent_edge_queue_depth',
      help: 'Jobs waiting to start',
      labelNames: ['model'],
      registers: [registry],
    }),
    runningJobs: new Gauge({
      name: 'latent_edge_running_jobs',
      help: 'Jobs in the denoise loop',
      labelNames: ['model'],
      registers: [registry],
    }),
    batchSize: new Histogram({
      name: 'latent_edge_batch_size',
      help: 'Images per batched UNet call',
      labelNames: ['model'],
      buckets: [1, 2, 3, 4, 6, 8, 12, 16, 32, 64],
      registers: [registry],
    }),
    stepSeconds: new Histogram({
      name: 'latent_edge_step_seconds',
      help: 'Wall time of one batched denoise step',
      labelNames: ['model'],
      buckets: seconds,
      registers: [registry],
    }),
    stageSeconds: new Histogram({
      name: 'latent_edge_stage_seconds',
      help: 'Wall time per job stage',
      labelNames: ['model', 'stage'],
      buckets: seconds,
      registers: [registry],
    }),
    jobs: new Counter({
      name: 'latent_edge_jobs_total',
      help: 'Jobs finished, by outcome',
      labelNames: ['model', 'outcome'],
      registers: [registry],
    }),
    images: new Counter({
      name: 'latent_edge_images_total',
      help: 'Images generated',
      labelNames: ['model'],
      registers: [registry],
    }),
    errors: new Counter({
      name: 'latent_edge_errors_total',
      help: 'Error responses, by code',
      labelNames: ['code'],
      registers: [registry],
    }),
    embeddingCache: new Counter({
      name: 'latent_edge_embedding_cache_total',
      help: 'Prompt embeddings: supplied by the edge, found in the worker cache, or encoded',
      labelNames: ['model', 'result'],
      registers: [registry],
    }),
    slots: new Gauge({
      name: 'latent_edge_worker_slots',
      help: 'Batch slots (MAX_BATCH jobs per model), free or busy',
      labelNames: ['model', 'state'],
      registers: [registry],
      // Read at scrape time: slots change with every job, and a stale gauge misleads a scaler.
      collect() {
        for (const [model, read] of slotReaders) {
          const { free, busy } = read();
          this.set({ model, state: 'free' }, free);
          this.set({ model, state: 'busy' }, busy);
        }
      },
    }),
    draining: new Gauge({
      name: 'latent_edge_worker_draining',
      help: '1 while the worker finishes what it holds before exiting',
      registers: [registry],
    }),
    pulls: new Counter({
      name: 'latent_edge_worker_pulls_total',
      help: 'Queue pulls by queue id and result (messages, empty, error)',
      labelNames: ['queue', 'result'],
      registers: [registry],
    }),
    queueWaitSeconds: new Histogram({
      name: 'latent_edge_worker_queue_wait_seconds',
      help: 'From a message entering its queue to this worker claiming its job',
      labelNames: ['model', 'tier'],
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900],
      registers: [registry],
    }),
    redeliveries: new Counter({
      name: 'latent_edge_worker_redeliveries_total',
      help: 'Messages pulled on a second or later delivery',
      labelNames: ['model', 'tier'],
      registers: [registry],
    }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
