// Runs the benchmarks: every `test/bench/<name>.ts` (each exports `run()`), or the ones named as
// arguments, one after another so they do not compete for the CPU. `npm run bench -- tokenizer`.
import { readdirSync } from 'node:fs';
import { basename } from 'node:path';

interface Benchmark {
  run: () => Promise<void>;
}

const here = new URL('./', import.meta.url);
const available = readdirSync(here)
  .filter((file) => file.endsWith('.ts') && file !== 'run.ts')
  .map((file) => basename(file, '.ts'))
  .sort();

const requested = process.argv.slice(2);
const unknown = requested.filter((name) => !available.includes(name));
if (unknown.length > 0) {
  console.error(`unknown benchmark ${unknown.join(', ')}; available: ${available.join(', ')}`);
  process.exit(1);
}

for (const name of requested.length > 0 ? requested : available) {
  const benchmark = (await import(new URL(`${name}.ts`, here).href)) as Partial<Benchmark>;
  if (typeof benchmark.run !== 'function') throw new Error(`test/bench/${name}.ts exports no run()`);
  console.log(`\n# bench: ${name}\n`);
  await benchmark.run();
}
