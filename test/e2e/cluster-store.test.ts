/**
 * An existing etcd as the cluster store, without swarm mode: `redes lab up --etcd` runs one etcd
 * (TLS with client certificates) in the lab's LAN namespace and starts every redesd with
 * `--cluster-store etcd://198.51.100.1:2379/<lab> --cluster-advertise <LAN address>`. Checks what the
 * CLI shows (Docker's classic multi-host networks: scope `global`, any container may join, swarm
 * inactive and refused), traffic and names across the two hosts, the daemon's errors at start for a
 * bad or unreachable store, and that the lab's down leaves no etcd, namespace or data behind.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { startLab, type Lab } from '../helpers/lab.js';
import { cmd } from '../helpers/sandbox.js';
import { containerReaches, onHost } from '../helpers/reach.js';

const REDESD = fileURLToPath(new URL('../../src/cli/redesd.js', import.meta.url));

function getJson(socket: string, path: string): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    http
      .get({ socketPath: socket, path }, (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => resolve(JSON.parse(body) as Record<string, unknown>));
      })
      .on('error', reject);
  });
}

async function waitFor(what: string, ms: number, ok: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await ok())) {
    if (Date.now() > deadline) assert.fail(`${what}: not within ${ms} ms`);
    await sleep(100);
  }
}

/** redesd started by hand in host `host`'s namespace with `flags`, state in a temporary directory; its exit code and stderr. */
async function daemonStart(lab: Lab, host: number, flags: readonly string[]): Promise<{ code: number; stderr: string }> {
  const dir = await mkdtemp('/tmp/redes-cstore-');
  try {
    const argv = [process.execPath, REDESD, '-H', `unix://${dir}/d.sock`, '--data-root', `${dir}/data`, '--exec-root', `${dir}/exec`, '--prefix', 'cstorebad', ...flags];
    // Generous: at load 30 redesd took 20 s just to load its modules and print a usage error.
    const r = await lab.hosts[host - 1]!.exec(argv, { allowFail: true, timeoutMs: 180_000 });
    return { code: r.code, stderr: r.stderr.split('\n').filter((l) => l && !l.startsWith('{')).join('\n') };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

test('an existing etcd as cluster store: global overlay networks across two hosts, Docker-like info, start errors, nothing left', { timeout: 480_000 }, async (t) => {
  const lab = await startLab(t, { hosts: 2, etcd: true });
  const store = `etcd://198.51.100.1:2379/${lab.name}`;
  // The lab's etcd runs in its LAN namespace, its data under the lab's directory.
  const etcdDir = `/run/redes-lab/${lab.name}/etcd`;
  assert.ok((await readdir(`${etcdDir}/data`)).includes('member'), 'etcd data under the lab directory');
  const inLan = await lab.lan(['busybox', 'netstat', '-ltn']);
  assert.match(inLan.stdout, /198\.51\.100\.1:2379\s/);

  // docker info: no swarm; the API keeps Docker's ClusterStore/ClusterAdvertise fields (the CLI 28 no longer prints them).
  assert.equal((await lab.context(1, ['info', '--format', '{{.Swarm.LocalNodeState}} {{json .Plugins.Network}}'])).stdout.trim(), 'inactive ["bridge","host","macvlan","null","overlay"]');
  for (const h of [1, 2]) {
    const info = await getJson(lab.hosts[h - 1]!.socket, '/info');
    assert.equal(info.ClusterStore, store);
    assert.equal(info.ClusterAdvertise, lab.lanAddr(h));
  }
  // Swarm mode and a cluster store exclude each other (Docker's text).
  const init = await lab.context(1, ['swarm', 'init', '--advertise-addr', lab.lanAddr(1)], { allowFail: true });
  assert.equal(init.code, 1);
  assert.equal(init.stderr.trim(), 'Error response from daemon: --cluster-store and --cluster-advertise daemon configurations are incompatible with swarm mode');
  const join = await lab.context(2, ['swarm', 'join', '--token', `SWMTKN-1-${'0'.repeat(50)}-${'a'.repeat(25)}`, `${lab.lanAddr(1)}:2377`], { allowFail: true });
  assert.match(join.stderr, /incompatible with swarm mode/);
  assert.equal((await lab.context(1, ['info', '--format', '{{.Swarm.LocalNodeState}}'])).stdout.trim(), 'inactive');

  // An overlay network made on host 1 (no --attachable: any container may join a global network) shows on host 2.
  const netId = (await lab.context(1, ['network', 'create', '-d', 'overlay', 'ov1'])).stdout.trim();
  await waitFor('ov1 listed on host 2', 10_000, async () => (await lab.context(2, ['network', 'ls', '--filter', 'name=ov1', '--format', '{{.ID}} {{.Name}} {{.Driver}} {{.Scope}}'])).stdout.trim() === `${netId.slice(0, 12)} ov1 overlay global`);
  assert.equal((await lab.context(2, ['network', 'ls', '-q', '--filter', 'scope=global'])).stdout.trim(), netId.slice(0, 12));
  assert.equal((await lab.context(2, ['network', 'inspect', '-f', '{{.Scope}} {{.Attachable}} {{(index .IPAM.Config 0).Subnet}}', 'ov1'])).stdout.trim(), 'global false 10.0.0.0/24');

  // A container on each host; they reach each other by name.
  await Promise.all([1, 2].map((h) => lab.context(h, ['run', '-d', '--name', `c${h}`, '--net', 'ov1', 'busybox', 'sleep', '600'], { timeoutMs: 60_000 })));
  for (const [from, to] of [[1, 2], [2, 1]] as const) {
    assert.ok(await containerReaches(onHost(lab, from), `c${from}`, `c${to}`), `c${from} pings c${to} by name`);
  }
  const peers = JSON.parse((await lab.context(1, ['network', 'inspect', '-f', '{{json .Peers}}', 'ov1'])).stdout) as Array<{ IP: string }>;
  assert.deepEqual(peers.map((p) => p.IP), [lab.lanAddr(1), lab.lanAddr(2)]);
  await Promise.all([1, 2].map((h) => lab.context(h, ['rm', '-f', `c${h}`])));
  await waitFor('ov1 removable once both endpoints are gone', 10_000, async () => (await lab.context(2, ['network', 'rm', 'ov1'], { allowFail: true })).code === 0);
  await waitFor('ov1 gone from host 1', 10_000, async () => (await lab.context(1, ['network', 'ls', '-q', '--filter', 'name=ov1'])).stdout.trim() === '');

  // Errors at start: a store URL redesd cannot use, a store nobody answers at, a store that wants TLS.
  const tlsFlags = (['cacertfile', 'certfile', 'keyfile'] as const).map((k, i) => `--cluster-store-opt=kv.${k}=${etcdDir}/pki/${['ca.crt', 'client.crt', 'client.key'][i]}`);
  const [badUrl, nobody, plain] = await Promise.all([
    daemonStart(lab, 2, ['--cluster-store', 'consul://198.51.100.1:8500', '--cluster-advertise', lab.lanAddr(2)]),
    daemonStart(lab, 2, ['--cluster-store', 'etcd://198.51.100.1:2399/x', '--cluster-advertise', lab.lanAddr(2), ...tlsFlags]),
    daemonStart(lab, 2, ['--cluster-store', 'etcd://198.51.100.1:2379/x', '--cluster-advertise', lab.lanAddr(2)]),
  ]);
  assert.equal(badUrl.code, 2, badUrl.stderr);
  assert.match(badUrl.stderr, /^redesd: invalid --cluster-store "consul:\/\/198\.51\.100\.1:8500": want etcd:\/\/HOST:PORT/);
  assert.equal(nobody.code, 1, nobody.stderr);
  assert.match(nobody.stderr, /^redesd: cannot reach the cluster store at https:\/\/198\.51\.100\.1:2399: connect ECONNREFUSED 198\.51\.100\.1:2399$/m);
  assert.equal(plain.code, 1, plain.stderr);
  assert.match(plain.stderr, /^redesd: cannot reach the cluster store at http:\/\/198\.51\.100\.1:2379: .*\(plain http: if the store speaks TLS, give its CA/m);

  await lab.down();
  const left = await cmd(['ls', `/run/redes-lab/${lab.name}`], { allowFail: true });
  assert.notEqual(left.code, 0, 'the lab directory (etcd data included) is gone');
});
