/**
 * For API tests: serves a router on `<dir>/docker.sock` (closed after the test) and runs programs —
 * the real docker CLI above all — against it with a private DOCKER_CONFIG, as argument arrays.
 */
import { spawn } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { createApiServer, listenUnix } from '../../src/api/server.js';
import { handleUpgrade } from '../../src/api/hijack.js';
import type { Router } from '../../src/api/router.js';

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface CliHarness {
  sock: string;
  env: NodeJS.ProcessEnv;
  /** Runs argv with DOCKER_HOST pointing at the server; stdin gets `input` (then EOF). */
  exec(argv: string[], input?: string | Buffer, timeoutMs?: number): Promise<CliResult>;
  /** `exec(['docker', ...args])`. */
  docker(args: string[], input?: string | Buffer): Promise<CliResult>;
}

export async function serveForCli(t: Pick<TestContext, 'after'>, dir: string, router: Router): Promise<CliHarness> {
  const server = createApiServer(router);
  handleUpgrade(server, router);
  const sock = join(dir, 'docker.sock');
  await listenUnix(server, sock);
  t.after(() => {
    server.closeAllConnections();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  });
  await mkdir(join(dir, 'docker-config'));
  const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: dir, DOCKER_HOST: `unix://${sock}`, DOCKER_CONFIG: join(dir, 'docker-config'), TERM: 'dumb' };
  const exec = (argv: string[], input?: string | Buffer, timeoutMs = 60_000): Promise<CliResult> =>
    new Promise((resolve, reject) => {
      const p = spawn(argv[0] as string, argv.slice(1), { env, timeout: timeoutMs });
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      p.stdout.on('data', (c: Buffer) => out.push(c));
      p.stderr.on('data', (c: Buffer) => err.push(c));
      p.on('error', reject);
      p.on('close', (code) => resolve({ code, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() }));
      p.stdin.on('error', () => undefined); // the program may exit before reading all of stdin
      p.stdin.end(input);
    });
  return { sock, env, exec, docker: (args, input) => exec(['docker', ...args], input) };
}
