// The operator's counters (requests, refusals, cache hits, jobs), exact and cheap: a few
// OperatorCounters Durable Objects (COUNTER_SHARDS) each hold a share of the increments, one
// SQLite row per series, and GET /metrics adds the shards up. A request adds to one shard chosen
// at random (through ctx.waitUntil, never on the answer's path), so no single object sees all
// the traffic, and a sum over shards loses nothing.
import { DurableObject } from 'cloudflare:workers';

/** How many objects share the increments; the sum over all of them is the count. */
export const COUNTER_SHARDS = 4;

/** A series: the metric's name and its labels (bounded sets: route patterns, status codes, error codes). */
export interface CounterSeries {
  name: string;
  labels: Record<string, string>;
}

export interface CounterIncrement extends CounterSeries {
  by?: number;
}

interface CounterRow extends Record<string, SqlStorageValue> {
  series: string;
  value: number;
}

export class OperatorCounters extends DurableObject<Env> {
  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    ctx.storage.sql.exec(
      'CREATE TABLE IF NOT EXISTS counters (series TEXT PRIMARY KEY, value INTEGER NOT NULL)',
    );
  }

  add(increments: readonly CounterIncrement[]): void {
    for (const { name, labels, by = 1 } of increments) {
      this.ctx.storage.sql.exec(
        'INSERT INTO counters (series, value) VALUES (?, ?) ON CONFLICT (series) DO UPDATE SET value = value + excluded.value',
        JSON.stringify({ name, labels }),
        by,
      );
    }
  }

  read(): { series: CounterSeries; value: number }[] {
    return this.ctx.storage.sql
      .exec<CounterRow>('SELECT series, value FROM counters')
      .toArray()
      .map((row) => ({ series: JSON.parse(row.series) as CounterSeries, value: row.value }));
  }
}

/** Adds `increments` to one shard, past the answer (errors logged: a lost count must not fail a request). */
export function countLater(
  env: Env,
  waitUntil: (promise: Promise<unknown>) => void,
  increments: readonly CounterIncrement[],
): void {
  if (increments.length === 0) return;
  const shard = Math.floor(Math.random() * COUNTER_SHARDS);
  waitUntil(
    env.OPERATOR_COUNTERS.getByName(`shard-${shard}`)
      .add(increments)
      .catch((error: unknown) => console.error('operator counters:', error)),
  );
}

/** Every series' count, summed over the shards. */
export async function readCounters(env: Env): Promise<{ series: CounterSeries; value: number }[]> {
  const shards = await Promise.all(
    Array.from({ length: COUNTER_SHARDS }, (_, i) => env.OPERATOR_COUNTERS.getByName(`shard-${i}`).read()),
  );
  const sums = new Map<string, { series: CounterSeries; value: number }>();
  for (const rows of shards) {
    for (const { series, value } of rows) {
      const id = JSON.stringify(series);
      const sum = sums.get(id) ?? { series, value: 0 };
      sum.value += value;
      sums.set(id, sum);
    }
  }
  return [...sums.values()];
}
