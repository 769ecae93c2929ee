/**
 * HTTP to the daemon's unix socket for the `redes` subcommands that talk to a running daemon
 * (audit, topology, image, firewall): one request function, the text of an error answer (Docker's
 * `{"message"}`), and one wording for a daemon that cannot be reached.
 *
 * Use: `const text = await daemonGet(socketPath, '/redes/audit?verify=1')`;
 * `const { status, body } = await daemonRequest(socketPath, 'POST', '/redes/firewall/reload')`.
 * Beware: paths are given without the `/vX.Y` prefix, which is added here.
 */
import { request, type IncomingMessage } from 'node:http';
import type { Readable } from 'node:stream';
import { API_VERSION } from '../api/index.js';

export interface DaemonAnswer {
  status: number;
  body: string;
}

/** One request; `body` is streamed when given. A socket that cannot be reached is an error naming it. */
export async function daemonRequest(
  socketPath: string,
  method: 'GET' | 'POST',
  path: string,
  opts: { body?: Readable; headers?: Record<string, string> } = {},
): Promise<DaemonAnswer> {
  let res: IncomingMessage;
  try {
    res = await new Promise<IncomingMessage>((resolve, reject) => {
      const headers = opts.body ? opts.headers : { 'Content-Length': '0', ...opts.headers };
      const req = request({ socketPath, method, path: `/v${API_VERSION}${path}`, headers });
      req.once('response', resolve);
      req.once('error', reject);
      if (!opts.body) return void req.end();
      opts.body.once('error', (e) => req.destroy(e));
      opts.body.pipe(req);
    });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const hint = code === 'ENOENT' || code === 'ECONNREFUSED' ? ' (is redesd running? set DOCKER_HOST or --host)' : '';
    throw new Error(`${JSON.stringify(`unix://${socketPath}`)}: ${(e as Error).message}${hint}`, { cause: e });
  }
  let body = '';
  res.setEncoding('utf8');
  for await (const chunk of res as AsyncIterable<string>) body += chunk;
  return { status: res.statusCode ?? 0, body };
}

/** A GET whose answer must be 200: its body, else an error with the daemon's message. */
export async function daemonGet(socketPath: string, path: string): Promise<string> {
  const a = await daemonRequest(socketPath, 'GET', path);
  if (a.status !== 200) throw new Error(`daemon answered ${a.status}: ${messageOf(a.body)}`);
  return a.body;
}

/** The `message` of an error answer, else its text. */
export function messageOf(body: string): string {
  try {
    return (JSON.parse(body) as { message?: string }).message ?? body.trim();
  } catch {
    return body.trim();
  }
}
