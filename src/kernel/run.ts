/**
 * The one way redes starts programs: an argument array (never a shell string), a timeout, captured
 * output, and an error that says which program failed and what it printed.
 *
 * Beware: everything here runs in the calling process's network namespace. The daemon itself runs in
 * its sandbox host namespace, so plain `ip` / `nft` act there. To act in another namespace use
 * `ip -n NAME` or `nsenter --net=/run/netns/NAME` (not `ip netns exec`, which remounts /sys).
 * At log level trace every program's wall time is logged (`spawned`, the first words of its argv):
 * bench/scale-profile.ts reads them to see which step grows with the number of containers.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { logger } from '../util/index.js';

const log = logger.child({ component: 'run' });

export interface RunOptions {
  /** Written to the program's stdin, then stdin is closed. */
  input?: string | Buffer;
  /** Milliseconds before the program is killed (default 30 s). */
  timeoutMs?: number;
  /** Do not throw on a non-zero exit; the caller reads `code`. */
  allowFailure?: boolean;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Open fds the program inherits as its fds 3, 4, ... (they stay open here). */
  extraFds?: readonly number[];
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export class CommandError extends Error {
  constructor(
    readonly argv: readonly string[],
    readonly result: RunResult,
  ) {
    const what = result.stderr.trim() || result.stdout.trim() || `exit code ${result.code}`;
    super(`${argv[0]} ${argv.slice(1, 4).join(' ')} failed: ${what}`);
    this.name = 'CommandError';
  }
}

export function run(argv: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  const [cmd, ...args] = argv;
  if (!cmd) throw new Error('run: empty argv');
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      stdio: ['pipe', 'pipe', 'pipe', ...(opts.extraFds ?? [])],
      env: opts.env ?? process.env,
      cwd: opts.cwd,
      timeout: opts.timeoutMs ?? 30_000,
      killSignal: 'SIGKILL',
    }) as ChildProcessWithoutNullStreams; // fds 0-2 are pipes whatever follows them
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', reject);
    child.stdin.on('error', () => undefined); // a program that exits early closes its stdin
    child.on('close', (code, signal) => {
      if (log.isLevelEnabled('trace')) log.trace({ cmd: argv.slice(0, 6).join(' '), ms: Math.round((performance.now() - t0) * 10) / 10 }, 'spawned');
      const result: RunResult = {
        code: code ?? (signal ? 128 : 1),
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
      };
      if (result.code !== 0 && !opts.allowFailure) reject(new CommandError(argv, result));
      else resolve(result);
    });
    child.stdin.end(opts.input ?? '');
  });
}
