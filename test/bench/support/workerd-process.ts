// The workerd processes this Node process started (Miniflare spawns one per instance) and their CPU
// time: workerd reports no CPU time per request, so benchmarks read the process's from /proc.
import { readdirSync, readFileSync } from 'node:fs';

/** /proc/<pid>/stat counts CPU time in USER_HZ ticks, 100 a second on Linux. */
const USER_HZ = 100;

interface ProcStat {
  comm: string;
  ppid: number;
  /** utime + stime, in ticks. */
  cpuTicks: number;
}

function procStat(pid: number): ProcStat | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined; // gone, or no /proc
  }
  // "pid (comm) state ppid …": comm may hold spaces and parentheses, so split after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return {
    comm: stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')),
    ppid: Number(fields[1]),
    cpuTicks: Number(fields[11]) + Number(fields[12]), // utime, stime: fields 14 and 15
  };
}

/** Pids of the running workerd processes whose parent is this process. */
export function childWorkerdPids(): number[] {
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return [];
  }
  return entries
    .filter((entry) => /^\d+$/.test(entry))
    .map(Number)
    .filter((pid) => {
      const stat = procStat(pid);
      return stat?.comm === 'workerd' && stat.ppid === process.pid;
    });
}

/**
 * The process's CPU time, all threads, in ms: the scheduler's nanosecond run time of each thread
 * (/proc/<pid>/task/<tid>/schedstat), since utime + stime are sampled at the timer tick and drift by
 * tens of ms over a second on a busy machine; those where there is no schedstat; NaN without /proc.
 */
export function processCpuMs(pid: number): number {
  try {
    let ns = 0;
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      ns += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
    }
    return ns / 1e6;
  } catch {
    const stat = procStat(pid);
    return stat ? (stat.cpuTicks * 1000) / USER_HZ : Number.NaN;
  }
}
