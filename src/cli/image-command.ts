/**
 * `redes image busybox`: builds `busybox:latest` from this machine's busybox-static (no registry is
 * reachable here) and loads it into a running daemon through `POST /images/load`, like
 * `docker load` would. Prints the daemon's lines (`Loaded image: busybox:latest`).
 *
 * Use: `imageCommand(argv)` from `redes`; the daemon is found with --host, else DOCKER_HOST, else
 * redesd's default socket.
 *
 * Beware: only unix sockets are supported (as by redesd). The daemon answers a load with 200 even
 * when it fails; the failure is a JSON `error` line in the stream, which makes the exit status 1.
 */
import { request, type IncomingMessage } from 'node:http';
import { parseArgs } from 'node:util';
import { busyboxImageTar } from '../runtime/images/index.js';
import { API_VERSION } from '../api/index.js';

const DEFAULT_HOST = 'unix:///run/redes/redes/docker.sock';

const USAGE = `Usage: redes image COMMAND [OPTIONS]

Commands:
  busybox   Build busybox:latest from this machine's busybox-static and load it into the daemon

Options:
  -H, --host unix://PATH   Daemon socket (default: $DOCKER_HOST, else ${DEFAULT_HOST})
  -h, --help               Print this help
`;

interface StreamLine {
  stream?: string;
  status?: string;
  error?: string;
  errorDetail?: { message?: string };
}

export async function imageCommand(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      options: { host: { type: 'string', short: 'H' }, help: { type: 'boolean', short: 'h' } },
      allowPositionals: true,
      strict: true,
    });
  } catch (e) {
    process.stderr.write(`redes image: ${(e as Error).message}\n\n${USAGE}`);
    return 2;
  }
  const [sub, ...extra] = parsed.positionals;
  if (parsed.values.help || sub === 'help') {
    process.stdout.write(USAGE);
    return 0;
  }
  if (sub !== 'busybox' || extra.length > 0) {
    process.stderr.write(`redes image: ${sub === undefined ? 'missing command' : `unknown command ${JSON.stringify([sub, ...extra].join(' '))}`}\n\n${USAGE}`);
    return 2;
  }
  const host = parsed.values.host ?? (process.env.DOCKER_HOST || DEFAULT_HOST);
  if (!host.startsWith('unix://') || host.length <= 'unix://'.length) {
    process.stderr.write(`redes image: invalid host ${JSON.stringify(host)}: only unix://PATH sockets are supported\n`);
    return 2;
  }
  const tar = await busyboxImageTar();
  try {
    return await loadInto(host.slice('unix://'.length), tar);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const hint = code === 'ENOENT' || code === 'ECONNREFUSED' ? ' (is redesd running? set DOCKER_HOST or --host)' : '';
    process.stderr.write(`redes image busybox: load into ${JSON.stringify(host)}: ${(e as Error).message}${hint}\n`);
    return 1;
  }
}

/** POST the archive and echo the stream; 0 when the daemon reported no error. */
async function loadInto(socketPath: string, tar: Buffer): Promise<number> {
  const res = await new Promise<IncomingMessage>((resolve, reject) => {
    const req = request({
      socketPath,
      method: 'POST',
      path: `/v${API_VERSION}/images/load?quiet=1`,
      headers: { 'Content-Type': 'application/x-tar', 'Content-Length': tar.length },
    });
    req.once('response', resolve);
    req.once('error', reject);
    req.end(tar);
  });
  let body = '';
  res.setEncoding('utf8');
  for await (const chunk of res as AsyncIterable<string>) body += chunk;
  if (res.statusCode !== 200) {
    throw new Error(`daemon answered ${res.statusCode}: ${messageOf(body)}`);
  }
  let failed = false;
  for (const text of body.split(/\r?\n/)) {
    if (!text.trim()) continue;
    const line = JSON.parse(text) as StreamLine;
    if (line.error || line.errorDetail) {
      process.stderr.write(`redes image busybox: ${line.errorDetail?.message ?? line.error}\n`);
      failed = true;
    } else if (line.stream) process.stdout.write(line.stream);
    else if (line.status) process.stdout.write(`${line.status}\n`);
  }
  return failed ? 1 : 0;
}

function messageOf(body: string): string {
  try {
    return (JSON.parse(body) as { message?: string }).message ?? body.trim();
  } catch {
    return body.trim();
  }
}
