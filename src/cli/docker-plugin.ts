/**
 * `docker-redes`: the docker CLI plugin (`docker redes audit`, `docker redes topology`), after the
 * CLI plugin protocol: asked `docker-cli-plugin-metadata` it prints its metadata; run by docker it
 * gets its own name (`redes`) first, then the user's arguments, and the daemon from DOCKER_HOST as
 * the docker CLI's environment has it.
 *
 * Use: `scripts/up.sh` links bin/docker-redes into ~/.docker/cli-plugins/.
 */
import { readFileSync } from 'node:fs';
import { auditCommand } from './audit-command.js';
import { topologyCommand } from './topology-command.js';

/** One metadata file, which bin/docker-redes also prints without starting node (dist/src/cli → bin). */
const METADATA_FILE = new URL('../../../bin/docker-redes.metadata.json', import.meta.url);

const USAGE = `Usage: docker redes COMMAND

Commands:
  audit      Who reaches whom and what is exposed (--verify, --policy FILE, --format json)
  topology   Draw the networks and containers as SVG (--svg FILE)
`;

async function main(argv: string[]): Promise<number> {
  if (argv[0] === 'docker-cli-plugin-metadata') {
    process.stdout.write(readFileSync(METADATA_FILE, 'utf8'));
    return 0;
  }
  const args = argv[0] === 'redes' ? argv.slice(1) : argv;
  const [cmd, ...rest] = args;
  if (cmd === 'audit') return auditCommand(rest, 'docker redes audit');
  if (cmd === 'topology') return topologyCommand(rest, 'docker redes topology');
  if (cmd === undefined || cmd === '--help' || cmd === '-h' || cmd === 'help') {
    process.stdout.write(USAGE);
    return cmd === undefined ? 2 : 0;
  }
  process.stderr.write(`docker redes: unknown command ${JSON.stringify(cmd)}\n\n${USAGE}`);
  return 2;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(`docker redes: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  },
);
