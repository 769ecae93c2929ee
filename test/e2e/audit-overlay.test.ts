/**
 * `redes audit` with overlay peers on another engine host: a lab of two hosts in a swarm, one
 * attachable overlay network with a container on each host, and a container on a plain bridge of
 * host 1. Host 1's matrix has a cell from its overlay container to the peer on host 2 (named
 * `name@node`) and none from the bridge container; `--verify` probes that peer across the VXLAN and
 * agrees on every check.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import type { AuditReport, Cell } from '../../src/audit/index.js';
import { runAudit } from '../helpers/audit-cli.js';
import { startLab } from '../helpers/lab.js';

const label = (p: Cell['from']): string => (p.kind === 'container' ? (p.node ? `${p.name}@` : p.name) : p.kind);

test('overlay peers on another host are cells of the matrix, and --verify probes them', { timeout: 240_000 }, async (t) => {
  const lab = await startLab(t, { hosts: 2 });
  await lab.context(1, ['swarm', 'init', '--advertise-addr', lab.lanAddr(1)]);
  const token = (await lab.context(1, ['swarm', 'join-token', '-q', 'worker'])).stdout.trim();
  await lab.context(2, ['swarm', 'join', '--token', token, `${lab.lanAddr(1)}:2377`], { timeoutMs: 60_000 });
  await lab.context(1, ['network', 'create', '-d', 'overlay', '--attachable', 'ova']);
  const SERVE = ['sh', '-c', 'httpd -p 80 -h / && exec sleep 3600'];
  await lab.context(1, ['run', '-d', '--name', 'near', '--net', 'ova', '--expose', '80', 'busybox', ...SERVE], { timeoutMs: 60_000 });
  await lab.context(1, ['run', '-d', '--name', 'aside', 'busybox', ...SERVE], { timeoutMs: 60_000 });
  // The network reaches host 2 through the store; retry until its run is accepted.
  for (let i = 0; ; i++) {
    const r = await lab.context(2, ['run', '-d', '--name', 'far', '--net', 'ova', 'busybox', ...SERVE], { timeoutMs: 60_000, allowFail: true });
    if (r.code === 0) break;
    if (i > 50) assert.fail(`run on host 2: ${r.stderr}`);
    await lab.context(2, ['rm', '-f', 'far'], { allowFail: true });
    await sleep(200);
  }
  const farIp = (await lab.context(2, ['inspect', '-f', '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}', 'far'])).stdout.trim();

  const audit = async (args: string[]): Promise<{ code: number; report: AuditReport; stderr: string }> => {
    const r = await runAudit(lab.hosts[0]!.dockerHost, ['--format', 'json', ...args]);
    return { code: r.code, report: JSON.parse(r.stdout) as AuditReport, stderr: r.stderr };
  };
  // Host 1 learns of `far` from the store's watch: wait until its matrix has the peer.
  let report: AuditReport | undefined;
  for (let i = 0; i < 100; i++) {
    report = (await audit([])).report;
    if (report.matrix.cells.some((c) => c.to.kind === 'container' && c.to.node)) break;
    await sleep(200);
  }
  assert.ok(report);
  const toFar = report.matrix.cells.filter((c) => c.to.kind === 'container' && c.to.node);
  assert.deepEqual(toFar.map((c) => `${label(c.from)} ${label(c.to)} ${c.via} ${c.verdict} ${c.reason}`), ['near far@ ova allowed same-network'], `${farIp} host addresses ${report.facts.host.localAddrs.join(' ')}; ${toFar[0]?.detail}`);
  assert.deepEqual(toFar[0]?.checks.map((k) => k.addr), [farIp, farIp, farIp]);
  assert.ok(!report.matrix.cells.some((c) => label(c.from) === 'aside' && c.to.kind === 'container' && c.to.node), 'a container off the overlay has no cell to its peers');

  const verified = await audit(['--verify']);
  assert.ok(verified.report.verify, verified.stderr);
  assert.deepEqual(verified.report.verify.disagreements, []);
  const probedToFar = verified.report.matrix.cells.filter((c) => c.to.kind === 'container' && c.to.node).flatMap((c) => c.checks);
  assert.equal(verified.report.verify.skipped, 0);
  assert.ok(probedToFar.length === 3 && probedToFar.every((k) => k.verdict === 'allowed'));
  assert.equal(verified.code, 0);
});
