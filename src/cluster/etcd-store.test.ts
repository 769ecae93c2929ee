/**
 * The shared ClusterStore suite against a real etcd member. The test process itself stays in the
 * machine's root namespace and never talks to the network: it makes a private network namespace and
 * runs this same file again inside it (REDES_ETCD_INSIDE=1), where a single TLS etcd member listens
 * on 127.0.0.1 with random ports.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes, randomInt } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { netnsAdd, netnsDelete, nsenterArgv, pidsInNetns } from '../kernel/netns.js';
import { killPids } from '../kernel/process.js';
import { run } from '../kernel/run.js';
import { makeCa, makeKeyAndCsr, signCsr } from '../runtime/cluster/pki.js';
import { clientUrl, ensureEtcdMember, peerUrl, stopEtcdMember } from '../runtime/cluster/etcd-member.js';
import { type EtcdTls, etcdRoot, grpcReason, openEtcdClusterStore } from './etcd-store.js';
import type { ClusterStore, LeaseEvent } from './store.js';
import { clusterStoreCases } from './store.case.test.js';

if (process.env.REDES_ETCD_INSIDE === '1') await insideSuite();
else {
  test('etcd store: the shared store suite passes against a real TLS etcd member', { timeout: 120_000 }, async () => {
    const ns = `rt${randomBytes(4).toString('hex')}`;
    await netnsAdd(ns);
    try {
      await run(['ip', '-n', ns, 'link', 'set', 'lo', 'up']);
      const self = fileURLToPath(import.meta.url);
      // Without NODE_TEST_CONTEXT the inner run reports TAP on stdout instead of to this runner.
      const { NODE_TEST_CONTEXT: _ctx, ...env } = process.env;
      const r = await run(nsenterArgv(ns, [process.execPath, '--test-reporter=tap', self]), {
        env: { ...env, REDES_ETCD_INSIDE: '1' },
        allowFailure: true,
        timeoutMs: 110_000,
      });
      assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
      assert.match(r.stdout, /# pass 1\d/);
      assert.match(r.stdout, /# fail 0/);
    } finally {
      await killPids(await pidsInNetns(ns));
      await netnsDelete(ns);
    }
  });
}

async function insideSuite(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'redes-etcd-test-'));
  const ca = await makeCa('redes-test-ca');
  const node = await makeKeyAndCsr('m1', 'swarm-manager');
  const cert = await signCsr(ca, node.csrPem, { commonName: 'm1', unit: 'swarm-manager', ips: ['127.0.0.1'] });
  const files = { ca: join(dir, 'ca.crt'), cert: join(dir, 'node.crt'), key: join(dir, 'node.key') };
  await writeFile(files.ca, ca.certPem);
  await writeFile(files.cert, cert);
  await writeFile(files.key, node.keyPem, { mode: 0o600 });
  const tls = { ca: Buffer.from(ca.certPem), cert: Buffer.from(cert), key: Buffer.from(node.keyPem) };
  const clientPort = 20000 + randomInt(20000);
  const peerPort = clientPort + 1;
  const spec = {
    name: 'm1',
    dataDir: join(dir, 'etcd'),
    address: '127.0.0.1',
    clientPort,
    peerPort,
    initialCluster: `m1=${peerUrl('127.0.0.1', peerPort)}`,
    state: 'new' as const,
    clusterToken: 'test',
    tls: files,
    pidPath: join(dir, 'etcd.pid'),
    logPath: join(dir, 'etcd.log'),
  };
  await ensureEtcdMember(spec, tls);
  let cluster = 0;
  clusterStoreCases('etcd', async () => {
    const clusterId = `c${++cluster}${randomBytes(3).toString('hex')}`;
    const open = (nodeId: string) =>
      openEtcdClusterStore({ endpoints: [clientUrl('127.0.0.1', clientPort)], tls, clusterId, nodeId, leaseTtl: 3 });
    const a = await open('node-a');
    const b = await open('node-b');
    return {
      a,
      b,
      expireLease: async (nodeId) => (nodeId === a.nodeId ? a : b).close(),
      loseLease: (nodeId) => revokeFromOutside(nodeId === a.nodeId ? a : b, { url: clientUrl('127.0.0.1', clientPort), tls, clusterId }),
      cleanup: async () => {
        await a.close();
        await b.close();
      },
    };
  });
  test('etcd store: the client follows the member list (a dead endpoint given at open is dropped, the members\' URLs kept)', async () => {
    const seen: string[][] = [];
    const url = clientUrl('127.0.0.1', clientPort);
    const s = await openEtcdClusterStore({ endpoints: [url, 'https://127.0.0.1:9'], tls, clusterId: 'follow', nodeId: 'n', leaseTtl: 3, onEndpoints: (u) => seen.push(u) });
    try {
      assert.deepEqual(s.endpoints(), [url.replace('https://', '')]);
      assert.deepEqual(seen, [[url]]);
      await s.put('k', 'v');
      assert.equal((await s.get('k'))?.value, 'v');
    } finally {
      await s.close();
    }
  });
  test('etcd store: stop the member', async () => {
    await stopEtcdMember(spec);
    await rm(dir, { recursive: true, force: true });
  });
}

/**
 * Revokes a store's lease behind its back (as etcd expires the lease of a host paused past its TTL):
 * the store hears of it at its next keep-alive. Resolves with the lease events it told, up to `replaced`.
 */
async function revokeFromOutside(s: ClusterStore, o: { url: string; tls: EtcdTls; clusterId: string }): Promise<LeaseEvent[]> {
  const events: LeaseEvent[] = [];
  const off = s.onLease((ev) => events.push(ev));
  const { Etcd3 } = await import('etcd3');
  const raw = new Etcd3({ hosts: [o.url], credentials: { rootCertificate: o.tls.ca, privateKey: o.tls.key, certChain: o.tls.cert } });
  try {
    // The lease is found through a key tied to it.
    await s.put('harness/lease-of', s.nodeId, { lease: true });
    const kv = (await raw.namespace(etcdRoot(o.clusterId)).get('harness/lease-of').exec()).kvs[0];
    assert.ok(kv && kv.lease !== '0', 'the marker is leased');
    await raw.leaseClient.leaseRevoke({ ID: kv.lease });
    const until = Date.now() + 15_000;
    while (!events.some((e) => e.type === 'replaced')) {
      if (Date.now() > until) assert.fail(`no replaced lease within 15 s: ${JSON.stringify(events)}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    await s.delete('harness/lease-of');
    return events;
  } finally {
    off();
    raw.close();
  }
}

test('grpcReason keeps the cause of a failed call', () => {
  assert.equal(grpcReason('14 UNAVAILABLE: No connection established. Last error: Error: connect ECONNREFUSED 198.51.100.1:2399. Resolution note: '), 'connect ECONNREFUSED 198.51.100.1:2399');
  assert.equal(grpcReason('14 UNAVAILABLE: No connection established. Last error: Failed to connect (2026-12-04T02:38:25.341Z). Resolution note: '), 'Failed to connect (2026-12-04T02:38:25.341Z)');
  assert.equal(grpcReason('deadline exceeded'), 'deadline exceeded');
});
