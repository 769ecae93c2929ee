/**
 * `redes topology --svg FILE`: the daemon's networks, bridges, macvlan parents, veth pairs,
 * containers (names, IPs, MACs), published ports and links, laid out by ELK, as an SVG file
 * (`-` for stdout). The same picture, live, is at `/redes/ui` on the daemon's socket.
 */
import { writeFile } from 'node:fs/promises';
import { DEFAULT_HOST, parseDaemonCommand } from './daemon-subcommand.js';
import { daemonGet } from './daemon-client.js';

export const TOPOLOGY_USAGE = `Usage: redes topology --svg FILE [OPTIONS]

Draw the daemon's networks and containers as SVG (FILE "-" writes to stdout).
The live page is served by redesd at /redes/ui on its socket.

Options:
      --svg FILE           Where to write the picture
  -H, --host unix://PATH   Daemon socket (default: $DOCKER_HOST, else ${DEFAULT_HOST})
  -h, --help               Print this help
`;

export async function topologyCommand(argv: string[], name = 'redes topology'): Promise<number> {
  const p = parseDaemonCommand(argv, { name, usage: TOPOLOGY_USAGE, options: { svg: { type: 'string' } } });
  if ('exit' in p) return p.exit;
  const svgFile = p.values.svg;
  if (typeof svgFile !== 'string' || svgFile === '') {
    process.stderr.write(`${name}: --svg FILE is required\n\n${TOPOLOGY_USAGE}`);
    return 2;
  }
  try {
    const svg = await daemonGet(p.socketPath, '/redes/topology.svg');
    if (svgFile === '-') process.stdout.write(svg);
    else await writeFile(svgFile, svg);
    return 0;
  } catch (e) {
    process.stderr.write(`${name}: ${(e as Error).message}\n`);
    return 1;
  }
}
