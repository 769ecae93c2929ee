// `redes audit` on macvlan networks, in a sandbox with a lan (eth1 on `<name>-lan`): a bridge-mode
// network whose host shim lets the engine host in, a private-mode network on the same parent, a
// parent-less network, and one container on both a user bridge and a macvlan network. The matrix must
// say what macvlan does (children of one parent reach each other in bridge mode, not in private mode;
// the host reaches them only through a shim; children never reach their parent's host) and `--verify`
// must agree with every check it can probe.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startSandbox, type Sandbox } from '../helpers/sandbox.js';
import { peerName, runAudit } from '../helpers/audit-cli.js';
import { runDetached } from '../helpers/containers.js';
import type { AuditReport } from '../../src/audit/index.js';

let sb: Sandbox;
const T = { timeoutMs: 30_000 };
const SERVE = 'httpd -p 80 -h / && exec sleep 3600';

before(async () => {
  sb = await startSandbox(undefined, { prefix: 'amv', lan: true });
  await sb.docker(['network', 'create', '-d', 'macvlan', '--subnet=198.51.100.0/25', '--gateway=198.51.100.1', '-o', 'parent=eth1', '-o', 'redes.macvlan.host_shim=198.51.100.120', 'mv_b'], T);
  await sb.docker(['network', 'create', '-d', 'macvlan', '--subnet=10.61.0.0/24', '-o', 'parent=eth1', '-o', 'macvlan_mode=private', 'mv_p'], T);
  await sb.docker(['network', 'create', '-d', 'macvlan', '--subnet=10.62.0.0/24', 'mv_np'], T);
  await sb.docker(['network', 'create', 'n_app'], T);
  await runDetached(sb, ['--name', 'b1', '--net', 'mv_b', '--ip', '198.51.100.21', 'busybox', 'sh', '-c', SERVE]);
  await runDetached(sb, ['--name', 'b2', '--net', 'mv_b', '--ip', '198.51.100.22', 'busybox', 'sh', '-c', SERVE]);
  await runDetached(sb, ['--name', 'p1', '--net', 'mv_p', 'busybox', 'sh', '-c', SERVE]);
  await runDetached(sb, ['--name', 'p2', '--net', 'mv_p', 'busybox', 'sh', '-c', SERVE]);
  await runDetached(sb, ['--name', 'n1', '--net', 'mv_np', 'busybox', 'sh', '-c', SERVE]);
  await runDetached(sb, ['--name', 'n2', '--net', 'mv_np', 'busybox', 'sh', '-c', SERVE]);
  await runDetached(sb, ['--name', 'app', '--net', 'n_app', 'busybox', 'sh', '-c', SERVE]);
  await sb.docker(['network', 'connect', 'mv_p', 'app'], T);
});
after(async () => {
  await sb?.down();
});

const audit = (args: string[]): ReturnType<typeof runAudit> => runAudit(sb.dockerHost, args);
const peer = peerName;

// from, to, via → verdict reason, written from what macvlan does.
const EXPECTED: Record<string, string> = {
  'b1 b2 mv_b': 'allowed same-network',
  'n1 n2 mv_np': 'allowed same-network',
  'p1 p2 mv_p': 'denied macvlan-private',
  'app p1 mv_p': 'denied macvlan-private',
  'host b1 mv_b': 'allowed local',
  'host p1 mv_p': 'denied macvlan-parent',
  'host n1 mv_np': 'denied macvlan-parent',
  'b1 p1 mv_p': 'denied macvlan-parent',
  'p1 app n_app': 'denied macvlan-parent',
  'b1 host eth0': 'denied macvlan-parent',
  'app host eth0': 'allowed local',
  'b1 world eth0': 'unknown macvlan-parent',
};

test('the matrix says what macvlan does: bridge mode, private mode, the parent and the host shim', async () => {
  const r = await audit(['--format', 'json']);
  assert.equal(r.code, 0, r.stderr);
  const report = JSON.parse(r.stdout) as AuditReport;
  const got = Object.fromEntries(report.matrix.cells.map((c) => [`${peer(c.from)} ${peer(c.to)} ${c.via}`, `${c.verdict} ${c.reason}`]));
  for (const [k, v] of Object.entries(EXPECTED)) assert.equal(got[k], v, `${k} (cells: ${Object.keys(got).filter((g) => g.startsWith(k.split(' ')[0] ?? '')).join('; ')})`);
  const mvb = report.exposure.networks.find((n) => n.name === 'mv_b');
  assert.ok(mvb?.flags.includes('macvlan on eth1'), JSON.stringify(report.exposure.networks));
});

test('--verify agrees with the model on every macvlan check it probes', async () => {
  const r = await audit(['--verify', '--format', 'json']);
  const report = JSON.parse(r.stdout) as AuditReport;
  assert.ok(report.verify, r.stderr);
  assert.deepEqual(report.verify.disagreements, []);
  const checks = report.matrix.cells.reduce((n, c) => n + c.checks.length, 0);
  const unknown = report.matrix.cells.reduce((n, c) => n + c.checks.filter((k) => k.verdict === 'unknown').length, 0);
  assert.ok(report.verify.probes > 50, `probes: ${report.verify.probes}`);
  assert.equal(report.verify.probes + report.verify.skipped, checks);
  assert.equal(report.verify.skipped, unknown, 'only the checks the model cannot decide go unprobed');
  assert.equal(r.code, 0);
});
