// Notices when whatever launched this process goes away. `npm start` runs
// `sh -c "tsx infra/dev/start.ts"`, and tsx runs this file in a child: a SIGTERM sent to npm
// alone kills that shell (npm forwards the signal to it, and it does not pass it on), which
// would leave tsx, this process and the whole stack running with no parent. So the stack also
// stops when its parent or grandparent changes (reparenting is how an orphan learns of it).
// Linux only (/proc); elsewhere it watches nothing.
import { readFileSync } from 'node:fs';

/** The parent pid of `pid`, from /proc/<pid>/stat, or undefined when unreadable. */
function parentOf(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Field 4, after the command name in parentheses (which may itself contain spaces).
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return undefined;
  }
}

/** Calls `onGone` once when this process's parent or grandparent changes; returns a stop function. */
export function watchLauncher(onGone: () => void, intervalMs = 1_000): () => void {
  const parent = process.ppid;
  const grandparent = parentOf(parent);
  if (grandparent === undefined) return () => {};
  const timer = setInterval(() => {
    if (process.ppid !== parent || parentOf(parent) !== grandparent) {
      clearInterval(timer);
      onGone();
    }
  }, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
