/**
 * Processes known by PID: is it alive, what is its command line, stop it (TERM, grace, KILL), and
 * pidfiles.
 *
 * Use: `await stopPid(await readPidfile(path), { graceMs: 10_000 })`; `startDetached` for a program
 * that outlives its caller, `runInherit` for one that talks to the user's terminal.
 *
 * Beware: a PID can be reused after its process exits. Before signalling a PID read from a file,
 * check that it still is the program you started (`pidCmdline`). A zombie counts as dead here: it
 * cannot run any more and only waits for its parent to reap it.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { open, readdir, readFile, rename, writeFile } from 'node:fs/promises';
import { constants } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';

/** The fields of /proc/PID/stat from the state on (field 3 is [0], field 22, the start time, is [19]). */
function statFields(text: string): string[] {
  // The command name in parentheses may contain spaces or ')': the state follows the last ')'.
  return text.slice(text.lastIndexOf(')') + 2).split(' ');
}

/** The state letter of /proc/PID/stat ('R', 'S', 'Z', ...), or undefined when there is no such process. */
async function procState(pid: number): Promise<string | undefined> {
  try {
    return statFields(await readFile(`/proc/${pid}/stat`, 'utf8'))[0] || undefined;
  } catch {
    return undefined;
  }
}

/**
 * State letter and start time (clock ticks after boot) of process `pid`, read synchronously; the
 * pair names one process for good, as runc's state file records it. Undefined when it is gone.
 */
export function pidStat(pid: number): { state: string; startTime: number } | undefined {
  try {
    const f = statFields(readFileSync(`/proc/${pid}/stat`, 'utf8'));
    return { state: f[0] ?? '', startTime: Number(f[19]) };
  } catch {
    return undefined;
  }
}

/** True while process `pid` exists and is not a zombie. */
export async function pidAlive(pid: number): Promise<boolean> {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  const state = await procState(pid);
  return state !== undefined && state !== 'Z' && state !== 'X';
}

/** The argv of process `pid`, or undefined when it is gone (or a zombie, whose cmdline is empty). */
export async function pidCmdline(pid: number): Promise<string[] | undefined> {
  try {
    const raw = await readFile(`/proc/${pid}/cmdline`, 'utf8');
    if (raw === '') return undefined;
    return raw.replace(/\0$/, '').split('\0');
  } catch {
    return undefined;
  }
}

/** Pids a /proc walk reads before it yields to the event loop (a few ms of reads). */
const PROC_SLICE = 256;

/**
 * Calls `visit(pid)` for every process but this one, reading synchronously in slices of
 * PROC_SLICE pids with a yield between. A machine running thousands of processes (shims of many
 * sandboxes) costs thousands of reads per walk: awaiting each one took 2-8 s at load 30 on 2
 * cores (every read a round trip through the thread pool and the event loop), sync slices about
 * 0.2-1.5 s, and the event loop still turns between slices.
 */
export async function walkProcesses(visit: (pid: number) => void): Promise<void> {
  const pids = (await readdir('/proc')).filter((d) => /^\d+$/.test(d)).map(Number).filter((pid) => pid !== process.pid);
  for (let i = 0; i < pids.length; i += PROC_SLICE) {
    if (i > 0) await new Promise<void>((resolve) => setImmediate(resolve));
    for (const pid of pids.slice(i, i + PROC_SLICE)) visit(pid);
  }
}

function cmdlineSync(pid: number): string[] | undefined {
  try {
    const raw = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    return raw === '' ? undefined : raw.replace(/\0$/, '').split('\0');
  } catch {
    return undefined;
  }
}

/** Every live process whose argv `match` accepts, read from /proc (zombies and vanished ones skipped). */
export async function findProcesses(match: (argv: readonly string[]) => boolean): Promise<Array<{ pid: number; argv: string[] }>> {
  const out: Array<{ pid: number; argv: string[] }> = [];
  await walkProcesses((pid) => {
    const argv = cmdlineSync(pid);
    if (argv && match(argv)) out.push({ pid, argv });
  });
  return out;
}

export interface StopOptions {
  /** Milliseconds between SIGTERM and SIGKILL (default 10 s). */
  graceMs?: number;
  /** Milliseconds to wait after SIGKILL before giving up (default 5 s). */
  killWaitMs?: number;
}

/** How a stop ended: the process was already gone, left after TERM, or had to be killed. */
export type StopResult = 'gone' | 'terminated' | 'killed';

async function waitGone(pid: number, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  for (let wait = 5; ; wait = Math.min(wait * 2, 50)) {
    if (!(await pidAlive(pid))) return true;
    if (Date.now() >= deadline) return false;
    await sleep(wait);
  }
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ESRCH') throw e;
  }
}

/**
 * Stop process `pid`: SIGTERM, wait up to `graceMs`, then SIGKILL and wait. Throws when the process
 * survives SIGKILL (stuck in the kernel, e.g. in a frozen cgroup).
 */
export async function stopPid(pid: number, opts: StopOptions = {}): Promise<StopResult> {
  if (!(await pidAlive(pid))) return 'gone';
  signal(pid, 'SIGTERM');
  if (await waitGone(pid, opts.graceMs ?? 10_000)) return 'terminated';
  signal(pid, 'SIGKILL');
  if (await waitGone(pid, opts.killWaitMs ?? 5_000)) return 'killed';
  throw new Error(`stop pid ${pid} failed: still alive after SIGKILL`);
}

/** Send SIGKILL to every pid at once, then wait until all are gone (up to `waitMs`). */
export async function killPids(pids: readonly number[], waitMs = 5_000): Promise<void> {
  for (const pid of pids) if (pid !== process.pid) signal(pid, 'SIGKILL');
  const left: number[] = [];
  for (const pid of pids) if (!(await waitGone(pid, waitMs))) left.push(pid);
  if (left.length) throw new Error(`kill failed: pids ${left.join(', ')} still alive after SIGKILL`);
}

/** The PID in a pidfile, or undefined when the file is missing or holds no valid PID. */
export async function readPidfile(path: string): Promise<number | undefined> {
  try {
    const pid = Number((await readFile(path, 'utf8')).trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** Write a pidfile atomically (a reader never sees a half-written number). */
export async function writePidfile(path: string, pid: number): Promise<void> {
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, `${pid}\n`);
  await rename(tmp, path);
}

export interface DetachedOptions {
  /** stdout and stderr are appended to this file (stdout only after the ready line, see below). */
  logPath: string;
  env?: NodeJS.ProcessEnv;
  /**
   * Wait until the program prints this line on stdout, then stop reading it: the program must not
   * write stdout again (it would get EPIPE). Without it, the pid is returned once spawned.
   */
  readyLine?: string;
  /** Milliseconds to wait for the ready line (default 10 s); then the program is killed. */
  readyTimeoutMs?: number;
}

/**
 * Start a program in its own session (so a terminal's Ctrl-C does not reach it) that outlives the
 * caller, and return its pid. Throws, after killing it, when it exits or stays silent before
 * printing `readyLine`.
 */
export async function startDetached(argv: readonly string[], opts: DetachedOptions): Promise<number> {
  const [cmd, ...args] = argv;
  if (!cmd) throw new Error('startDetached: empty argv');
  const log = await open(opts.logPath, 'a');
  try {
    const child = spawn(cmd, args, {
      detached: true,
      env: opts.env ?? process.env,
      stdio: ['ignore', opts.readyLine === undefined ? log.fd : 'pipe', log.fd],
    });
    await new Promise<void>((resolve, reject) => {
      child.once('error', reject);
      child.once('spawn', resolve);
    });
    const pid = child.pid;
    if (pid === undefined) throw new Error(`start ${cmd} failed: no pid`);
    if (opts.readyLine !== undefined && child.stdout) {
      const stdout = child.stdout;
      const ready = opts.readyLine;
      const ok = await new Promise<string | undefined>((resolve) => {
        let seen = '';
        const ms = opts.readyTimeoutMs ?? 10_000;
        // The deadline's verdict waits for one poll of I/O: a loop busy past the deadline runs the
        // timer before it reads a line that came in time (setImmediate runs after the poll phase).
        const timer = setTimeout(() => setImmediate(() => resolve(`no "${ready}" line within ${ms} ms`)), ms);
        stdout.on('data', (b: Buffer) => {
          seen += b.toString('utf8');
          if (seen.split('\n').includes(ready)) {
            clearTimeout(timer);
            resolve(undefined);
          }
        });
        child.once('exit', (code, sig) => {
          clearTimeout(timer);
          resolve(`exited (${sig ?? `code ${code}`}) before "${ready}"`);
        });
      });
      stdout.destroy();
      if (ok !== undefined) {
        signal(pid, 'SIGKILL');
        throw new Error(`start "${argv.join(' ').slice(0, 160)}" failed: ${ok}`);
      }
    }
    child.unref();
    return pid;
  } finally {
    await log.close(); // the child holds its own copy of the descriptor
  }
}

/**
 * Run a program with the caller's stdin, stdout and stderr, and return its exit code (128 + signal
 * number when killed by a signal). Ctrl-C reaches the program (same process group); the caller
 * ignores SIGINT and SIGQUIT meanwhile, so it can pass the program's exit code on.
 */
export async function runInherit(argv: readonly string[], env?: NodeJS.ProcessEnv): Promise<number> {
  const [cmd, ...args] = argv;
  if (!cmd) throw new Error('runInherit: empty argv');
  const ignore = (): void => undefined;
  process.on('SIGINT', ignore);
  process.on('SIGQUIT', ignore);
  try {
    return await new Promise<number>((resolve, reject) => {
      const child = spawn(cmd, args, { stdio: 'inherit', env: env ?? process.env });
      child.once('error', reject);
      child.once('exit', (code, sig) => resolve(code ?? 128 + (sig ? constants.signals[sig] : 0)));
    });
  } finally {
    process.off('SIGINT', ignore);
    process.off('SIGQUIT', ignore);
  }
}
