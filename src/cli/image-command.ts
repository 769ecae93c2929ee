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
import { busyboxImageTar } from '../images/index.js';
import { API_VERSION } from '../api/index.js';
import { DEFAULT_HOST, parseDaemonSubcommand } from './daemon-subcommand.js';


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
  const p = parseDaemonSubcommand(argv, { name: 'image', subcommands: ['busybox'], usage: USAGE });
  if ('exit' in p) return p.exit;
  const tar = await busyboxImageTar();
  try {
    return await loadInto(p.socketPath, tar);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const hint = code === 'ENOENT' || code === 'ECONNREFUSED' ? ' (is redesd running? set DOCKER_HOST or --host)' : '';
    process.stderr.write(`redes image busybox: load into ${JSON.stringify(`unix://${p.socketPath}`)}: ${(e as Error).message}${hint}\n`);
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
