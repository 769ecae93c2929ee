/**
 * A GET to the daemon's socket for the `redes` subcommands that read (audit, topology): the body as
 * text, and Docker's `{"message"}` of an error answer as the error's text.
 *
 * Use: `const text = await daemonGet(socketPath, '/redes/audit?verify=1')`.
 */
import { request, type IncomingMessage } from 'node:http';
import { API_VERSION } from '../api/index.js';

export async function daemonGet(socketPath: string, path: string): Promise<string> {
  let res: IncomingMessage;
  try {
    res = await new Promise<IncomingMessage>((resolve, reject) => {
      const req = request({ socketPath, method: 'GET', path: `/v${API_VERSION}${path}` });
      req.once('response', resolve);
      req.once('error', reject);
      req.end();
    });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const hint = code === 'ENOENT' || code === 'ECONNREFUSED' ? ' (is redesd running? set DOCKER_HOST or --host)' : '';
    throw new Error(`${JSON.stringify(`unix://${socketPath}`)}: ${(e as Error).message}${hint}`);
  }
  let body = '';
  res.setEncoding('utf8');
  for await (const chunk of res as AsyncIterable<string>) body += chunk;
  if (res.statusCode !== 200) {
    let msg = body.trim();
    try {
      msg = (JSON.parse(body) as { message?: string }).message ?? msg;
    } catch {
      // not JSON: the text itself
    }
    throw new Error(`daemon answered ${res.statusCode}: ${msg}`);
  }
  return body;
}

/** The daemon's socket path from --host, else DOCKER_HOST, else redesd's default; undefined if not unix://. */
export function socketOf(host: string | undefined, dflt: string): string | undefined {
  const h = host ?? (process.env.DOCKER_HOST || dflt);
  return h.startsWith('unix://') && h.length > 'unix://'.length ? h.slice('unix://'.length) : undefined;
}
