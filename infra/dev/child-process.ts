// One long-running child of the local stack (the gpu-worker, `wrangler dev`): started in its own
// process group, its output relayed line by line, and stopped as a group. The group matters
// because wrangler starts workerd processes of its own: signalling wrangler alone would leave
// them holding the port. A detached group also keeps the terminal's Ctrl-C away from the
// children, so the stack decides the order and the grace period of a shutdown.
import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';

export interface ChildOptions {
  command: string;
  args: string[];
  cwd: string;
  env: NodeJS.ProcessEnv;
  /** Receives every output line (stdout and stderr), without its newline. */
  onLine: (line: string) => void;
}

export interface ExitStatus {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface ManagedChild {
  process: ChildProcess;
  pid: number;
  /** Settles when the group leader exits. */
  exited: Promise<ExitStatus>;
  /** Whether the group leader is still running. */
  running: () => boolean;
  /** SIGTERM to the group, then SIGKILL to whatever is left of it after `graceMs`. */
  stop: (graceMs?: number) => Promise<void>;
  /** SIGKILL to the whole group at once: a crash, as far as anyone else can tell. */
  kill: () => Promise<void>;
}

/** True while any process of the group `pgid` exists. */
function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

function signalGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // The group is already gone.
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function waitForGroupExit(pgid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (groupAlive(pgid)) {
    if (Date.now() >= deadline) return false;
    await sleep(50);
  }
  return true;
}

/** Groups started here and not yet stopped: killed synchronously if this process exits first. */
const liveGroups = new Set<number>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const pgid of liveGroups) signalGroup(pgid, 'SIGKILL');
  });
}

export function startChild(options: ChildOptions): ManagedChild {
  const child = spawn(options.command, options.args, {
    cwd: options.cwd,
    env: options.env,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  if (child.pid === undefined) throw new Error(`could not start ${options.command}`);
  const pid = child.pid;
  liveGroups.add(pid);
  installExitHook();
  for (const stream of [child.stdout, child.stderr]) {
    if (stream)
      createInterface({ input: stream, crlfDelay: Number.POSITIVE_INFINITY }).on('line', options.onLine);
  }
  const exited = new Promise<ExitStatus>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
    child.once('error', (error) => {
      options.onLine(`failed to start: ${error.message}`);
      resolve({ code: null, signal: null });
    });
  });
  const running = () => child.exitCode === null && child.signalCode === null;

  const finish = async () => {
    // Children of the leader (workerd) may outlive it briefly; none may outlive the stop.
    if (!(await waitForGroupExit(pid, 2_000))) signalGroup(pid, 'SIGKILL');
    await waitForGroupExit(pid, 5_000);
    liveGroups.delete(pid);
  };

  return {
    process: child,
    pid,
    exited,
    running,
    async stop(graceMs = 5_000) {
      if (groupAlive(pid)) {
        signalGroup(pid, 'SIGTERM');
        const timedOut = await Promise.race([exited.then(() => false), sleep(graceMs).then(() => true)]);
        if (timedOut) signalGroup(pid, 'SIGKILL');
      }
      await finish();
    },
    async kill() {
      signalGroup(pid, 'SIGKILL');
      await exited;
      await finish();
    },
  };
}

export interface CommandResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs a short command (a `wrangler kv` call) in its own process group to completion. Aborting
 * `signal`, or this process exiting, kills the whole group, so a stopped stack leaves no wrangler
 * (or its workerd) behind.
 */
export function runCommand(
  options: Omit<ChildOptions, 'onLine'> & { signal?: AbortSignal },
): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    if (options.signal?.aborted) return reject(new Error('stopped'));
    const child = spawn(options.command, options.args, {
      cwd: options.cwd,
      env: options.env,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const pid = child.pid;
    if (pid === undefined) return reject(new Error(`could not start ${options.command}`));
    liveGroups.add(pid);
    installExitHook();
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (chunk) => {
      stdout += chunk;
    });
    child.stderr?.on('data', (chunk) => {
      stderr += chunk;
    });
    const abort = () => signalGroup(pid, 'SIGKILL');
    options.signal?.addEventListener('abort', abort, { once: true });
    child.once('error', reject);
    child.once('close', (code) => {
      options.signal?.removeEventListener('abort', abort);
      // Whatever the leader left running in its group goes with it.
      signalGroup(pid, 'SIGKILL');
      liveGroups.delete(pid);
      if (options.signal?.aborted) reject(new Error('stopped'));
      else resolve({ code, stdout, stderr });
    });
  });
}
