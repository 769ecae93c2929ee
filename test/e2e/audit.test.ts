// `redes audit` on the scenario in a real sandbox: three user networks (n_int internal,
// n_noicc with ICC off, n_app), the default bridge with --icc=false and a legacy link, a port published
// on 127.0.0.1 and one on every address, and an operator's drop rule in `inet <prefix>-user`. The matrix
// must equal the expectations written here, `--verify` must agree on every check, and the policy gate
// must catch a planted violation.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSandbox, type Sandbox } from '../helpers/sandbox.js';
import { peerName, runAudit } from '../helpers/audit-cli.js';
import { inspectContainer, runDetached } from '../helpers/containers.js';
import type { AuditReport } from '../../src/audit/index.js';

let sb: Sandbox;
let dir: string;
const T = { timeoutMs: 30_000 };
const SERVE = 'httpd -p 80 -h / && exec sleep 3600';

before(async () => {
  sb = await startSandbox(undefined, { prefix: 'aud', daemonArgs: ['--icc=false'] });
  dir = await mkdtemp(join(tmpdir(), 'redes-audit-'));
  await sb.docker(['network', 'create', '--internal', 'n_int'], T);
  await sb.docker(['network', 'create', '-o', 'com.docker.network.bridge.enable_icc=false', 'n_noicc'], T);
  await sb.docker(['network', 'create', 'n_app'], T);
  await runDetached(sb, ['--name', 'web', '--net', 'n_app', '-p', '8080:80', '--label', 'tier=front', 'busybox', 'sh', '-c', SERVE]);
  await runDetached(sb, ['--name', 'api', '--net', 'n_app', '-p', '127.0.0.1:9090:80', '--label', 'tier=front', 'busybox', 'sh', '-c', SERVE]);
  await runDetached(sb, ['--name', 'db', '--net', 'n_int', 'busybox', 'sh', '-c', SERVE]);
  await sb.docker(['network', 'connect', 'n_int', 'api'], T);
  await runDetached(sb, ['--name', 'w1', '--net', 'n_noicc', 'busybox', 'sh', '-c', SERVE]);
  await runDetached(sb, ['--name', 'w2', '--net', 'n_noicc', 'busybox', 'sh', '-c', SERVE]);
  await runDetached(sb, ['--name', 'tgt', '--expose', '80', 'busybox', 'sh', '-c', SERVE]);
  await runDetached(sb, ['--name', 'par', '--link', 'tgt:t', 'busybox', 'sh', '-c', SERVE]);
  const webIp = (await inspectContainer(sb, 'web')).NetworkSettings.Networks.n_app?.IPAddress ?? '';
  await sb.exec(['nft', 'add', 'rule', 'inet', `${sb.name}-user`, 'forward', 'ip', 'saddr', '203.0.113.0/24', 'ip', 'daddr', webIp, 'tcp', 'dport', '80', 'drop']);
});
after(async () => {
  await sb?.down();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const audit = (args: string[]): ReturnType<typeof runAudit> => runAudit(sb.dockerHost, args);
const peer = peerName;

// from, to, via → verdict reason, written from the options alone.
const EXPECTED: Record<string, string> = {
  'web api n_app': 'allowed same-network',
  'api db n_int': 'allowed same-network',
  'db api n_int': 'allowed same-network',
  'db web n_app': 'denied no-route',
  'web db n_int': 'denied internal',
  'w1 w2 n_noicc': 'denied icc-off',
  'tgt par bridge': 'denied icc-off',
  'par tgt bridge': 'partial link',
  'web w1 n_noicc': 'denied isolation',
  'par web n_app': 'denied isolation',
  'host db n_int': 'allowed local',
  'world web 0.0.0.0:8080/tcp': 'denied user-rule',
  'world api 127.0.0.1:9090/tcp': 'denied loopback-only',
  'host api 127.0.0.1:9090/tcp': 'allowed published',
  'host web 0.0.0.0:8080/tcp': 'allowed published',
  'web world eth0': 'allowed routed',
  'db world eth0': 'denied no-route',
  'w1 host gateway of n_noicc': 'allowed local',
  'w1 host gateway of n_app': 'denied other-gateway',
};

test('the matrix equals the expectations, with the user rule named', async () => {
  const r = await audit(['--format', 'json']);
  assert.equal(r.code, 0, r.stderr);
  const report = JSON.parse(r.stdout) as AuditReport;
  assert.equal(report.schema, 'redes.audit/v1');
  const got = Object.fromEntries(report.matrix.cells.map((c) => [`${peer(c.from)} ${peer(c.to)} ${c.via}`, `${c.verdict} ${c.reason}`]));
  for (const [k, v] of Object.entries(EXPECTED)) assert.equal(got[k], v, k);
  const userRule = report.matrix.cells.find((c) => c.kind === 'world-published' && peer(c.to) === 'web');
  assert.match(userRule?.detail ?? '', new RegExp(`inet ${sb.name}-user forward: .*drop`));
  const cve = report.exposure.ports.find((p) => p.container === 'api');
  assert.deepEqual(cve?.flags, ['loopback: CVE-2020-8558 blocked (cve-2020-8558)']);
});

test('--verify agrees with the model on every check', async () => {
  const r = await audit(['--verify', '--format', 'json']);
  const report = JSON.parse(r.stdout) as AuditReport;
  assert.ok(report.verify, r.stderr);
  assert.deepEqual(report.verify.disagreements, []);
  assert.equal(report.verify.skipped, 0);
  const checks = report.matrix.cells.reduce((n, c) => n + c.checks.length, 0);
  assert.equal(report.verify.probes, checks);
  assert.equal(r.code, 0);
});

test('the table output is aligned and names the reasons', async () => {
  const r = await audit([]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^FROM +TO +VIA +VERDICT +ONLY +REASON +DETAIL$/m);
  assert.match(r.stdout, /^w1 +w2 +n_noicc +denied +icc-off /m);
  assert.match(r.stdout, /^api +127\.0\.0\.1:9090\/tcp +n_app:80 +denied \(loopback-only\)/m);
});

test('the policy gate passes the declared flows and exits 1 on a planted violation, listing both ways', async () => {
  const ok = `groups:
  front: { labels: { tier: front } }
  online: { names: [web, api, par, tgt, w1, w2] }
allow:
  - { from: front, to: front }
  - { from: api, to: db }
  - { from: db, to: api }
  - { from: par, to: tgt, ports: [80/tcp] }
  - { from: host, to: "*" }
  - { from: online, to: world }
  - { from: "*", to: host }
`;
  await writeFile(join(dir, 'ok.yaml'), ok);
  const pass = await audit(['--policy', join(dir, 'ok.yaml')]);
  assert.equal(pass.code, 0, pass.stdout + pass.stderr);
  assert.match(pass.stdout, /^POLICY: no violations$/m);
  // Planted: web → api is no longer declared, and w1 → w2 is declared though ICC is off.
  await writeFile(join(dir, 'bad.yaml'), ok.replace('  - { from: front, to: front }\n', '  - { from: api, to: web }\n  - { from: w1, to: w2 }\n'));
  const bad = await audit(['--policy', join(dir, 'bad.yaml'), '--format', 'json']);
  assert.equal(bad.code, 1, bad.stderr);
  const vs = (JSON.parse(bad.stdout) as { policy: { violations: Array<{ kind: string; from: string; to: string }> } }).policy.violations;
  assert.deepEqual(vs.map((v) => `${v.kind} ${v.from} ${v.to}`).sort(), ['blocked w1 w2', 'undeclared web api']);
});
