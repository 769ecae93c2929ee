/**
 * `redes`: the user's command line. Subcommands: `sandbox` (isolated engine hosts), `lab` (several of them on one LAN), and later `image`,
 * `firewall`, `audit`, `topology`, `doctor`. Talks to a running daemon over its socket where a subcommand needs one.
 */
import { labCommand, sandboxCommand } from '../sandbox/index.js';
import { imageCommand } from './image-command.js';
import { firewallCommand } from './firewall-command.js';
import { auditCommand } from './audit-command.js';
import { topologyCommand } from './topology-command.js';
import { doctorCommand } from './doctor-command.js';

const USAGE = `Usage: redes COMMAND

Commands:
  sandbox   Create, use and remove isolated engine hosts (redes sandbox --help)
  lab       Several engine hosts on one simulated LAN, for swarm and overlay (redes lab --help)
  image     Build images on this machine and load them into the daemon (redes image busybox|debian|course)
  firewall  Re-apply the daemon's nftables ruleset (redes firewall reload)
  audit     Who reaches whom and what is exposed; --verify probes, --policy gates (redes audit --help)
  topology  Draw the networks and containers as SVG (redes topology --svg FILE)
  doctor    Compare the daemon's state with the kernel; --repair fixes the safe differences

Run 'redes COMMAND --help' for more information on a command.
`;

async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  switch (cmd) {
    case 'sandbox':
      return sandboxCommand(rest);
    case 'lab':
      return labCommand(rest);
    case 'image':
      return imageCommand(rest);
    case 'firewall':
      return firewallCommand(rest);
    case 'audit':
      return auditCommand(rest);
    case 'topology':
      return topologyCommand(rest);
    case 'doctor':
      return doctorCommand(rest);
    case undefined:
    case '-h':
    case '--help':
    case 'help':
      process.stdout.write(USAGE);
      return cmd === undefined ? 2 : 0;
    default:
      process.stderr.write(`redes: unknown command ${JSON.stringify(cmd)}\n\n${USAGE}`);
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(`redes: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  },
);
