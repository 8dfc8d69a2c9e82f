// How much GPU work there is, per model and tier, for autoscaling: one Durable Object per
// (model, tier) keeps each dispatched job's state — waiting at the edge behind its key's fair
// share, in the queue (backlog), or claimed by a worker (in flight) — by job id, so a repeated
// report changes nothing and a lost one cannot drift a counter. A job whose deadline has passed
// leaves on its own (its request gave up); GET /metrics reads the counts.
import { DurableObject } from 'cloudflare:workers';

export type GaugeState = 'waiting' | 'backlog' | 'in_flight';

export interface GaugeCounts {
  waiting: number;
  backlog: number;
  in_flight: number;
}

interface Entry {
  state: GaugeState;
  until: number;
}

export class DispatchGauge extends DurableObject<Env> {
  private entries: Map<string, Entry> | undefined;

  private async load(): Promise<Map<string, Entry>> {
    this.entries ??= new Map(await this.ctx.storage.list<Entry>());
    return this.entries;
  }

  /** Records `jobId`'s state (null: it has ended), kept at most until `until` (ms since the epoch). */
  async set(jobId: string, state: GaugeState | null, until: number): Promise<void> {
    const entries = await this.load();
    if (state === null) {
      if (entries.delete(jobId)) await this.ctx.storage.delete(jobId);
      return;
    }
    const entry = { state, until };
    entries.set(jobId, entry);
    await this.ctx.storage.put(jobId, entry);
  }

  async counts(now = Date.now()): Promise<GaugeCounts> {
    const entries = await this.load();
    const counts: GaugeCounts = { waiting: 0, backlog: 0, in_flight: 0 };
    const expired: string[] = [];
    for (const [jobId, entry] of entries) {
      if (entry.until <= now) expired.push(jobId);
      else counts[entry.state]++;
    }
    for (const jobId of expired) entries.delete(jobId);
    if (expired.length > 0) await this.ctx.storage.delete(expired);
    return counts;
  }
}
