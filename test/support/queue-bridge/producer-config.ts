// Writes the wrangler config of the test producer (producer-worker.ts): one producer binding per
// queue, named as the caller says, the way the edge's wrangler.toml declares its GPU queues.
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

/** Writes `<dir>/producer.wrangler.json` with `bindings` (binding name → queue name); returns its path. */
export function writeProducerConfig(dir: string, bindings: Record<string, string>): string {
  const config = {
    name: 'queue-bridge-test-producer',
    main: resolve(import.meta.dirname, 'producer-worker.ts'),
    compatibility_date: '2026-03-01',
    queues: { producers: Object.entries(bindings).map(([binding, queue]) => ({ binding, queue })) },
  };
  const path = join(dir, 'producer.wrangler.json');
  writeFileSync(path, `${JSON.stringify(config, null, 2)}\n`);
  return path;
}
