/**
 * `redes firewall reload`: asks a running daemon to re-apply its whole ruleset from its state, in one
 * nft transaction (after `nft flush ruleset`, or a hand edit of our table). Rules in the operators'
 * table `inet <prefix>-user` are not touched.
 *
 * Use: `firewallCommand(argv)` from `redes`; the daemon is found with --host, else DOCKER_HOST, else
 * redesd's default socket.
 */
import { request, type IncomingMessage } from 'node:http';
import { parseArgs } from 'node:util';
import { API_VERSION } from '../api/index.js';

const DEFAULT_HOST = 'unix:///run/redes/redes/docker.sock';

const USAGE = `Usage: redes firewall COMMAND [OPTIONS]

Commands:
  reload    Re-apply the daemon's whole nftables ruleset from its state (one transaction)

Options:
  -H, --host unix://PATH   Daemon socket (default: $DOCKER_HOST, else ${DEFAULT_HOST})
  -h, --help               Print this help
`;

export async function firewallCommand(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      options: { host: { type: 'string', short: 'H' }, help: { type: 'boolean', short: 'h' } },
      allowPositionals: true,
      strict: true,
    });
  } catch (e) {
    process.stderr.write(`redes firewall: ${(e as Error).message}\n\n${USAGE}`);
    return 2;
  }
  const [sub, ...extra] = parsed.positionals;
  if (parsed.values.help || sub === 'help') {
    process.stdout.write(USAGE);
    return 0;
  }
  if (sub !== 'reload' || extra.length > 0) {
    process.stderr.write(`redes firewall: ${sub === undefined ? 'missing command' : `unknown command ${JSON.stringify([sub, ...extra].join(' '))}`}\n\n${USAGE}`);
    return 2;
  }
  const host = parsed.values.host ?? (process.env.DOCKER_HOST || DEFAULT_HOST);
  if (!host.startsWith('unix://') || host.length <= 'unix://'.length) {
    process.stderr.write(`redes firewall: invalid host ${JSON.stringify(host)}: only unix://PATH sockets are supported\n`);
    return 2;
  }
  try {
    const { status, body } = await post(host.slice('unix://'.length), `/v${API_VERSION}/redes/firewall/reload`);
    if (status !== 200) {
      process.stderr.write(`redes firewall reload: daemon answered ${status}: ${messageOf(body)}\n`);
      return 1;
    }
    const r = JSON.parse(body) as { Enabled?: boolean; Networks?: number; Ports?: number; Milliseconds?: number };
    process.stdout.write(r.Enabled === false
      ? 'firewall disabled (--iptables=false): nothing to reload\n'
      : `reloaded: ${r.Networks ?? 0} networks, ${r.Ports ?? 0} published ports in ${r.Milliseconds ?? 0} ms\n`);
    return 0;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const hint = code === 'ENOENT' || code === 'ECONNREFUSED' ? ' (is redesd running? set DOCKER_HOST or --host)' : '';
    process.stderr.write(`redes firewall reload: ${JSON.stringify(host)}: ${(e as Error).message}${hint}\n`);
    return 1;
  }
}

async function post(socketPath: string, path: string): Promise<{ status: number; body: string }> {
  const res = await new Promise<IncomingMessage>((resolve, reject) => {
    const req = request({ socketPath, method: 'POST', path, headers: { 'Content-Length': 0 } });
    req.once('response', resolve);
    req.once('error', reject);
    req.end();
  });
  let body = '';
  res.setEncoding('utf8');
  for await (const chunk of res as AsyncIterable<string>) body += chunk;
  return { status: res.statusCode ?? 0, body };
}

function messageOf(body: string): string {
  try {
    return (JSON.parse(body) as { message?: string }).message ?? body.trim();
  } catch {
    return body.trim();
  }
}
