/**
 * `redes audit`: who reaches whom and what is exposed, from the daemon's state and live ruleset;
 * `--verify` proves each check with real probes; `--policy FILE` gates on a YAML policy.
 *
 * Exit codes: 0 clean; 1 policy violations or probe disagreements (or a failure); 2 usage.
 */
import { readFile } from 'node:fs/promises';
import { checkPolicy, parsePolicy, type Violation, renderReport, type AuditReport } from '../audit/index.js';
import { DEFAULT_HOST, parseDaemonCommand } from './daemon-subcommand.js';
import { daemonGet } from './daemon-client.js';

export const AUDIT_USAGE = `Usage: redes audit [OPTIONS]

Who can reach whom (container to container per network, host, world, published ports) and why,
from the daemon's state and the live nftables ruleset (your own rules included).

Options:
      --verify             Probe every check for real from inside the namespaces (TCP, UDP, ICMP)
      --policy FILE        Check the flows against a YAML policy (default deny); exit 1 on a violation
      --format FORMAT      table (default) or json (schema: src/audit/README.md)
  -H, --host unix://PATH   Daemon socket (default: $DOCKER_HOST, else ${DEFAULT_HOST})
  -h, --help               Print this help
`;

export async function auditCommand(argv: string[], name = 'redes audit'): Promise<number> {
  const p = parseDaemonCommand(argv, {
    name,
    usage: AUDIT_USAGE,
    options: { verify: { type: 'boolean' }, policy: { type: 'string' }, format: { type: 'string' } },
  });
  if ('exit' in p) return p.exit;
  const values = p.values as { verify?: boolean; policy?: string; format?: string };
  const format = values.format ?? 'table';
  if (format !== 'table' && format !== 'json') {
    process.stderr.write(`${name}: invalid --format ${JSON.stringify(format)}: want table or json\n`);
    return 2;
  }
  try {
    const policy = values.policy ? parsePolicy(await readFile(values.policy, 'utf8')) : undefined;
    const report = JSON.parse(await daemonGet(p.socketPath, `/redes/audit${values.verify ? '?verify=1' : ''}`)) as AuditReport;
    const violations: Violation[] | undefined = policy ? checkPolicy(policy, report) : undefined;
    if (format === 'json') process.stdout.write(JSON.stringify(violations ? { ...report, policy: { violations } } : report, null, 2) + '\n');
    else process.stdout.write(renderReport(report, violations ? { violations } : {}));
    return (violations?.length ?? 0) > 0 || (report.verify?.disagreements.length ?? 0) > 0 ? 1 : 0;
  } catch (e) {
    process.stderr.write(`${name}: ${(e as Error).message}\n`);
    return 1;
  }
}
