/**
 * `redes firewall reload`: asks a running daemon to re-apply its whole ruleset from its state, in one
 * nft transaction (after `nft flush ruleset`, or a hand edit of our table). Rules in the operators'
 * table `inet <prefix>-user` are not touched.
 *
 * Use: `firewallCommand(argv)` from `redes`; the daemon is found with --host, else DOCKER_HOST, else
 * redesd's default socket.
 */
import { request, type IncomingMessage } from 'node:http';
import { API_VERSION } from '../api/index.js';
import { DEFAULT_HOST, parseDaemonSubcommand } from './daemon-subcommand.js';


const USAGE = `Usage: redes firewall COMMAND [OPTIONS]

Commands:
  reload    Re-apply the daemon's whole nftables ruleset from its state (one transaction)

Options:
  -H, --host unix://PATH   Daemon socket (default: $DOCKER_HOST, else ${DEFAULT_HOST})
  -h, --help               Print this help
`;

export async function firewallCommand(argv: string[]): Promise<number> {
  const p = parseDaemonSubcommand(argv, { name: 'firewall', subcommands: ['reload'], usage: USAGE });
  if ('exit' in p) return p.exit;
  try {
    const { status, body } = await post(p.socketPath, `/v${API_VERSION}/redes/firewall/reload`);
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
    process.stderr.write(`redes firewall reload: ${JSON.stringify(`unix://${p.socketPath}`)}: ${(e as Error).message}${hint}\n`);
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
