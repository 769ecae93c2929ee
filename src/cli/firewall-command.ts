/**
 * `redes firewall reload`: asks a running daemon to re-apply its whole ruleset from its state, in one
 * nft transaction (after `nft flush ruleset`, or a hand edit of our table). Rules in the operators'
 * table `inet <prefix>-user` are not touched.
 *
 * Use: `firewallCommand(argv)` from `redes`; the daemon is found with --host, else DOCKER_HOST, else
 * redesd's default socket.
 */
import { DEFAULT_HOST, parseDaemonCommand } from './daemon-subcommand.js';
import { daemonRequest, messageOf } from './daemon-client.js';

const USAGE = `Usage: redes firewall COMMAND [OPTIONS]

Commands:
  reload    Re-apply the daemon's whole nftables ruleset from its state (one transaction)

Options:
  -H, --host unix://PATH   Daemon socket (default: $DOCKER_HOST, else ${DEFAULT_HOST})
  -h, --help               Print this help
`;

export async function firewallCommand(argv: string[]): Promise<number> {
  const p = parseDaemonCommand(argv, { name: 'redes firewall', subcommands: ['reload'], usage: USAGE });
  if ('exit' in p) return p.exit;
  try {
    const { status, body } = await daemonRequest(p.socketPath, 'POST', '/redes/firewall/reload');
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
    process.stderr.write(`redes firewall reload: ${(e as Error).message}\n`);
    return 1;
  }
}
