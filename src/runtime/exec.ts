/**
 * `docker exec`: one more process in a running container, through an exec-mode redes-shim that
 * runs `runc exec -d` (with --console-socket for a tty), reaps the process as its subreaper and
 * relays its stdio over a socketpair (the shim's fd 3) in the frames of shim-protocol.ts.
 *
 * Use: `const p = await execProcess({...})` resolves once the process runs (rejects with runc's
 * message when it cannot start, e.g. executable not found); read `p.stream.output`, write
 * `p.stream.write()`, end `p.stream.stdin`, `p.stream.resize(h, w)`, await `p.exitCode`.
 * A client that goes away must not end the stream: call `p.stream.discardOutput()` (the process
 * goes on, its output is dropped, `exitCode` still resolves); `p.stream.close()` cuts the shim off,
 * and `exitCode` then rejects with `exec-lost`.
 * Beware: the exec shim is the daemon's child: if the daemon dies the process goes on but its
 * output is dropped (Docker loses an exec's stream on restart too). The process file lives in
 * `tmpDir` (the daemon's exec root) only until runc has read it.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Duplex } from 'node:stream';
import { internal, invalidParameter } from '../util/index.js';
import type { OciProcess } from './oci-spec.js';
import { shimBinary } from './shim-binary.js';
import { ShimStream } from './shim-stream.js';

export interface ExecOptions {
  id: string;
  runcRoot: string;
  runcPath?: string;
  /** The process as in config.json (args, env, cwd, user, capabilities…); `terminal` follows `tty`. */
  processSpec: OciProcess;
  tty: boolean;
  stdin: boolean;
  /**
   * Deliver this stream on `stream.output` (default true). Output that is delivered must be read:
   * an unread stream pauses the process once a few frames are buffered (docker exec -d: false).
   */
  stdout?: boolean;
  stderr?: boolean;
  /** Where the process file is written (default: the system's temp dir); it is removed at start. */
  tmpDir?: string;
}

export interface ExecProcess {
  pid: number;
  /** Output, stdin, resize; `stream.exited` is the raw announcement. */
  stream: ShimStream;
  /** The process's exit code (128+signal when killed). */
  exitCode: Promise<number>;
}

/**
 * Docker's wording, with runc's message inside (the engine maps "not found" to 127 as Docker does).
 * As dockerd (translateContainerdStartErr): a command or directory that is missing or may not be
 * run is the request's fault (400), anything else ours (500).
 */
function execFailed(detail: string): Error {
  const message = `OCI runtime exec failed: ${detail}: unknown`;
  if (/executable file not found|no such file or directory|permission denied/i.test(detail)) {
    return invalidParameter('runtime.bad_command', message);
  }
  return internal('runtime.exec_failed', message);
}

export function execProcess(opts: ExecOptions): Promise<ExecProcess> {
  if (opts.tmpDir) mkdirSync(opts.tmpDir, { recursive: true, mode: 0o700 });
  const dir = mkdtempSync(join(opts.tmpDir ?? tmpdir(), 'redes-exec-'));
  const processFile = join(dir, 'process.json');
  writeFileSync(processFile, JSON.stringify({ ...opts.processSpec, terminal: opts.tty }));
  const argv = ['exec', '--id', opts.id, '--process', processFile, '--root', resolve(opts.runcRoot)];
  argv.push('--runc', opts.runcPath ?? 'runc');
  if (opts.tty) argv.push('--tty');
  if (opts.stdin) argv.push('--stdin');
  const child = spawn(shimBinary(), argv, { stdio: ['ignore', 'ignore', 'pipe', 'pipe'] });
  const diagnostics: Buffer[] = [];
  child.stderr?.on('data', (b: Buffer) => diagnostics.push(b));
  const cleanup = (): void => rmSync(dir, { recursive: true, force: true });

  return new Promise((resolve, reject) => {
    let settled = false;
    const fail = (detail: string): void => {
      cleanup();
      if (settled) return;
      settled = true;
      reject(execFailed(detail));
    };
    const sock = child.stdio[3] as Duplex;
    const stream = new ShimStream(sock, {
      stdout: opts.stdout !== false,
      stderr: opts.stderr !== false,
      stdin: opts.stdin,
      onError: fail,
      onStarted: (pid) => {
        settled = true;
        cleanup(); // runc has read the process file
        const exitCode = stream.exited.then((code) => {
          if (code === null) throw internal('runtime.exec_lost', 'exec: the shim ended without reporting an exit code');
          return code;
        });
        exitCode.catch(() => undefined); // the caller may never ask
        resolve({ pid, stream, exitCode });
      },
    });
    child.on('error', (e) => (cleanup(), fail(e.message)));
    child.on('exit', () => {
      cleanup();
      // An error frame may still be on its way: judge once the socket has delivered everything.
      void stream.exited.then(() =>
        fail(Buffer.concat(diagnostics).toString('utf8').trim() || 'exec shim exited before the process started'),
      );
    });
  });
}
