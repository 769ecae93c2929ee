/**
 * `redes doctor`: does the daemon's state agree with the kernel? Lists every difference (namespaces,
 * interfaces, bridges, veths, addresses, nftables, cgroups, mounts, shims, directories, DNS);
 * `--repair` fixes the safe ones and lists what it did and what remains.
 *
 * Exit codes: 0 consistent (after the repair, with --repair); 1 differences remain (or a failure); 2 usage.
 */
import { parseArgs } from 'node:util';
import { DEFAULT_HOST } from './daemon-subcommand.js';
import { socketOf } from './daemon-subcommand.js';
import { daemonRequest, messageOf } from './daemon-client.js';

export const DOCTOR_USAGE = `Usage: redes doctor [OPTIONS]

Compare the daemon's state (containers, networks, addresses, firewall, DNS) with what the kernel
holds and list every difference.

Options:
      --repair             Fix the safe differences (objects nothing owns, addresses no endpoint
                           holds, interfaces and endpoints that disagree, our nftables table)
      --format FORMAT      text (default) or json
  -H, --host unix://PATH   Daemon socket (default: $DOCKER_HOST, else ${DEFAULT_HOST})
  -h, --help               Print this help
`;

interface Row {
  Kind: string;
  Object: string;
  Problem: string;
  Repair: string;
  Error?: string;
}

const line = (r: Row): string => `${r.Kind} ${r.Object}: ${r.Problem}${r.Repair ? ` [${r.Repair}]` : ''}${r.Error ? `: ${r.Error}` : ''}\n`;

export async function doctorCommand(argv: string[], name = 'redes doctor'): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: { repair: { type: 'boolean' }, format: { type: 'string' }, host: { type: 'string', short: 'H' }, help: { type: 'boolean', short: 'h' } },
      strict: true,
      allowPositionals: false,
    }));
  } catch (e) {
    process.stderr.write(`${name}: ${(e as Error).message}\n\n${DOCTOR_USAGE}`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(DOCTOR_USAGE);
    return 0;
  }
  const format = values.format ?? 'text';
  if (format !== 'text' && format !== 'json') {
    process.stderr.write(`${name}: invalid --format ${JSON.stringify(format)}: want text or json\n`);
    return 2;
  }
  const socket = socketOf(values.host);
  if (!socket) {
    process.stderr.write(`${name}: invalid host: only unix://PATH sockets are supported\n`);
    return 2;
  }
  try {
    const a = await daemonRequest(socket, values.repair ? 'POST' : 'GET', values.repair ? '/redes/doctor/repair' : '/redes/doctor');
    if (a.status !== 200) throw new Error(`daemon answered ${a.status}: ${messageOf(a.body)}`);
    const r = JSON.parse(a.body) as { Differences: Row[]; Repaired?: Row[]; Failed?: Row[] };
    if (format === 'json') process.stdout.write(JSON.stringify(r, null, 2) + '\n');
    else {
      for (const x of r.Repaired ?? []) process.stdout.write(`repaired: ${line(x)}`);
      for (const x of r.Failed ?? []) process.stdout.write(`repair failed: ${line(x)}`);
      for (const x of r.Differences) process.stdout.write(line(x));
      if (r.Differences.length === 0) process.stdout.write('consistent: the kernel holds what the state says\n');
    }
    return r.Differences.length === 0 ? 0 : 1;
  } catch (e) {
    process.stderr.write(`${name}: ${(e as Error).message}\n`);
    return 1;
  }
}
