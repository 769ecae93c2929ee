/**
 * `redes lab ...`: the sub-CLI over lab.ts. `labCommand` gets the arguments after `lab` and returns
 * the exit code. stdout carries results (the hosts and how to reach them); progress goes to stderr.
 * Exit codes: 0 done, 1 failed, 2 usage.
 */
import { parseArgs } from 'node:util';
import { DEFAULT_HOSTS, DEFAULT_LAB, MAX_HOSTS, checkLabName, labDown, labList, labUp } from './lab.js';

const USAGE = `Usage: redes lab COMMAND

Several engine hosts on one simulated LAN (198.51.100.0/24), sharing one outside world.

Commands:
  up [--name L] [--hosts N] [--etcd] [--log-level LEVEL] [--daemon-arg=FLAG]...
                   Create (or repair) lab L with N hosts (default ${DEFAULT_HOSTS}, at most ${MAX_HOSTS}),
                   each with redesd running and a docker context L-1, L-2, ...
                   --etcd: an etcd on the LAN (https://198.51.100.1:2379) that every redesd
                   uses as its cluster store (--cluster-store), instead of swarm mode
  down L           Stop and remove everything of lab L (daemons, etcd, state, contexts)
  ls               List labs and their hosts

Default L: $REDES_LAB when set, else ${DEFAULT_LAB}. Lab names match ^[a-z]([a-z0-9]{0,6}[a-z])?$.
`;

class UsageError extends Error {}

export async function labCommand(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  try {
    switch (cmd) {
      case 'up':
        return await up(rest);
      case 'down':
        return await down(rest);
      case 'ls':
      case 'list':
        return await ls(rest);
      case undefined:
      case 'help':
      case '-h':
      case '--help':
        process.stdout.write(USAGE);
        return cmd === undefined ? 2 : 0;
      default:
        throw new UsageError(`unknown command "${cmd}"`);
    }
  } catch (e) {
    const usage = e instanceof UsageError || (e as NodeJS.ErrnoException).code?.startsWith('ERR_PARSE_ARGS');
    process.stderr.write(`redes lab: ${e instanceof Error ? e.message : String(e)}\n`);
    if (usage) process.stderr.write(`\n${USAGE}`);
    return usage ? 2 : 1;
  }
}

async function up(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      name: { type: 'string', short: 'n' },
      hosts: { type: 'string' },
      'log-level': { type: 'string' },
      'daemon-arg': { type: 'string', multiple: true },
      etcd: { type: 'boolean' },
    },
    strict: true,
  });
  const name = values.name ?? (process.env.REDES_LAB || DEFAULT_LAB);
  checkLabName(name);
  let hosts: number | undefined;
  if (values.hosts !== undefined) {
    if (!/^\d+$/.test(values.hosts)) throw new UsageError(`invalid --hosts "${values.hosts}": a number`);
    hosts = Number(values.hosts);
  }
  const lab = await labUp({ name, hosts, logLevel: values['log-level'], ...(values['daemon-arg'] ? { daemonArgs: values['daemon-arg'] } : {}), ...(values.etcd ? { etcd: true } : {}) });
  const lines = [`lab "${lab.name}": ${lab.hosts.length} hosts on 198.51.100.0/24${lab.etcd ? ', cluster store etcd://198.51.100.1:2379' : ''}`, 'CONTEXT     LAN ADDRESS     DOCKER_HOST'];
  for (const h of lab.hosts) lines.push(`${h.context.padEnd(10)}  ${h.lanAddr.padEnd(14)}  ${h.dockerHost}`);
  const first = lab.hosts[0];
  if (first) {
    lines.push(
      '',
      `Use a host with: docker --context ${first.context} info`,
      lab.etcd ? `  e.g. docker --context ${first.context} network create -d overlay ov1` : `  e.g. docker --context ${first.context} swarm init --advertise-addr ${first.lanAddr}`,
      `Shell on a host: redes sandbox exec ${first.sandbox} -- sh`,
      `Remove it all:   redes lab down ${lab.name}`,
    );
  }
  process.stdout.write(`${lines.join('\n')}\n`);
  return 0;
}

async function down(args: string[]): Promise<number> {
  const { positionals } = parseArgs({ args, options: {}, allowPositionals: true, strict: true });
  const [name, extra] = positionals;
  if (!name) throw new UsageError('down needs a lab name');
  if (extra !== undefined) throw new UsageError(`unexpected argument "${extra}"`);
  checkLabName(name);
  if (!(await labDown(name))) process.stderr.write(`redes lab: lab "${name}" not found, nothing to remove\n`);
  return 0;
}

async function ls(args: string[]): Promise<number> {
  parseArgs({ args, options: {}, strict: true });
  for (const lab of await labList()) {
    const hosts = lab.hosts.map((h) => `${h.context}(${h.lanAddr}, ${h.state})`).join('  ');
    process.stdout.write(`${lab.name.padEnd(8)}  ${String(lab.hosts.length).padStart(2)} hosts  ${hosts}\n`);
  }
  return 0;
}
