/**
 * `redes topology --svg FILE`: the daemon's networks, bridges, macvlan parents, veth pairs,
 * containers (names, IPs, MACs), published ports and links, laid out by ELK, as an SVG file
 * (`-` for stdout). The same picture, live, is at `/redes/ui` on the daemon's socket.
 */
import { writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { DEFAULT_HOST } from './daemon-subcommand.js';
import { daemonGet, socketOf } from './daemon-get.js';

export const TOPOLOGY_USAGE = `Usage: redes topology --svg FILE [OPTIONS]

Draw the daemon's networks and containers as SVG (FILE "-" writes to stdout).
The live page is served by redesd at /redes/ui on its socket.

Options:
      --svg FILE           Where to write the picture
  -H, --host unix://PATH   Daemon socket (default: $DOCKER_HOST, else ${DEFAULT_HOST})
  -h, --help               Print this help
`;

export async function topologyCommand(argv: string[], name = 'redes topology'): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({ args: argv, options: { svg: { type: 'string' }, host: { type: 'string', short: 'H' }, help: { type: 'boolean', short: 'h' } }, strict: true, allowPositionals: false }));
  } catch (e) {
    process.stderr.write(`${name}: ${(e as Error).message}\n\n${TOPOLOGY_USAGE}`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(TOPOLOGY_USAGE);
    return 0;
  }
  if (!values.svg) {
    process.stderr.write(`${name}: --svg FILE is required\n\n${TOPOLOGY_USAGE}`);
    return 2;
  }
  const socket = socketOf(values.host, DEFAULT_HOST);
  if (!socket) {
    process.stderr.write(`${name}: invalid host: only unix://PATH sockets are supported\n`);
    return 2;
  }
  try {
    const svg = await daemonGet(socket, '/redes/topology.svg');
    if (values.svg === '-') process.stdout.write(svg);
    else await writeFile(values.svg, svg);
    return 0;
  } catch (e) {
    process.stderr.write(`${name}: ${(e as Error).message}\n`);
    return 1;
  }
}
