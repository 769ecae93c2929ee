/**
 * A byte stream passed through a program (a decompressor, for instance): the input is written to its
 * stdin, its stdout is read back in pieces of about 1 MiB.
 *
 * Use: `for await (const chunk of pipeThrough(['zstd', '-d', '-c', '-q'], input)) ...`
 *
 * Beware: a non-zero exit throws `CommandError` with the program's stderr, after all of stdout was
 * yielded; an error of the input kills the program and is rethrown as it was. A consumer that stops
 * early (break, throw) kills the program. Output is gathered up to OUT_PIECE before it is yielded:
 * the pipe's 64 KiB reads would otherwise cost every later stage a call (and a thread-pool trip for
 * file writes) each.
 */
import { spawn } from 'node:child_process';
import { drainOrClose } from '../util/index.js';
import { CommandError } from './run.js';

const OUT_PIECE = 1 << 20;
const STDERR_LIMIT = 4096;

export async function* pipeThrough(argv: readonly string[], input: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  const [cmd, ...args] = argv;
  if (!cmd) throw new Error('pipeThrough: empty argv');
  const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  const exited = new Promise<number>((resolve) => child.once('close', (code, signal) => resolve(code ?? (signal ? 128 : 1))));
  await new Promise<void>((resolve, reject) => {
    child.once('spawn', resolve);
    child.once('error', reject);
  });
  let stderr = '';
  child.stderr.on('data', (b: Buffer) => {
    if (stderr.length < STDERR_LIMIT) stderr += b.toString('utf8');
  });
  child.stdin.on('error', () => undefined); // a program that exits early closes its stdin
  let inputError: { e: unknown } | undefined;
  const feeding = (async () => {
    try {
      for await (const chunk of input) {
        if (child.stdin.destroyed) return;
        if (!child.stdin.write(chunk)) await drainOrClose(child.stdin);
      }
      child.stdin.end();
    } catch (e) {
      inputError = { e };
      child.kill('SIGKILL');
    }
  })();
  try {
    let parts: Buffer[] = [];
    let size = 0;
    for await (const chunk of child.stdout as AsyncIterable<Buffer>) {
      parts.push(chunk);
      size += chunk.length;
      if (size < OUT_PIECE) continue;
      yield Buffer.concat(parts, size);
      parts = [];
      size = 0;
    }
    await feeding;
    if (inputError) throw inputError.e;
    const code = await exited;
    if (code !== 0) throw new CommandError(argv, { code, stdout: '', stderr });
    if (size) yield Buffer.concat(parts, size);
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
}
