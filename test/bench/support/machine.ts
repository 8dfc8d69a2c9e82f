// The machine a benchmark ran on, for its report: CPU model, cores, Node version, load average.
import { readFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg } from 'node:os';

export function machine(): string {
  let cpu = cpus()[0]?.model ?? 'unknown CPU';
  try {
    cpu = /^model name\s*:\s*(.*)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? cpu;
  } catch {
    // No /proc (macOS, Windows): os.cpus() named the model already.
  }
  return `${cpu}, ${availableParallelism()} cores, Node ${process.version}`;
}

/** The 1, 5 and 15 minute load averages. */
export const formatLoad = () =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(' / ');
