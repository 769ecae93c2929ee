import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryClusterBackend } from '../../cluster/index.js';
import type { WireguardPeer } from '../../kernel/index.js';
import { HostWireguard, type WireguardPeerOps } from './host-wireguard.js';
import type { EndpointRecord } from './records.js';

const NET_A = 'a'.repeat(64);
const NET_B = 'b'.repeat(64);
const key = (node: number): string => `${'A'.repeat(42)}${String.fromCharCode(66 + node)}=`;
const rec = (node: number, i: number): EndpointRecord => ({
  node: `n${node}`,
  containerId: `c${node}-${i}`,
  name: `x${node}-${i}`,
  aliases: [],
  ipv4: `10.0.${node}.${i + 2}`,
  mac: `02:42:0a:00:${node.toString(16).padStart(2, '0')}:${(i + 2).toString(16).padStart(2, '0')}`,
  vtep: `169.254.192.${node}`,
  wireguard: { publicKey: key(node), endpoint: `198.51.100.${10 + node}:51820`, tunnel: `169.254.192.${node}` },
});

/** Records each call the way the kernel would get it. */
function fakeOps(): WireguardPeerOps & { calls: string[]; failNext: boolean } {
  const f = {
    calls: [] as string[],
    failNext: false,
    async sync(_ifname: string, peers: readonly WireguardPeer[]): Promise<void> {
      f.calls.push(`sync ${peers.map((p) => p.allowedIp).sort().join(',')}`);
    },
    async change(_ifname: string, set: readonly WireguardPeer[], remove: readonly string[]): Promise<void> {
      if (f.failNext) {
        f.failNext = false;
        throw new Error('wg set failed (fake)');
      }
      f.calls.push(`change set=${set.map((p) => p.allowedIp).sort().join(',')} remove=${[...remove].sort().join(',')}`);
    },
  };
  return f;
}

function wireguard(ops: WireguardPeerOps): HostWireguard {
  const store = new MemoryClusterBackend().store('n0');
  const hw = new HostWireguard({ instance: 'tst', dataDir: '/nonexistent', peerOps: ops }, () => ({ store, advertiseAddress: '198.51.100.10' }));
  // As after ensure(): the interface exists (no kernel here).
  hw.info = { publicKey: key(0), endpoint: '198.51.100.10:51820', tunnel: '169.254.192.0' };
  return hw;
}

const me = { myNode: 'n0' };

test('WireGuard peers are a delta: a change writes only the nodes whose peer entry changed, never the whole set again', async () => {
  const ops = fakeOps();
  const hw = wireguard(ops);
  // First pass: the whole list of network A (nodes 1 and 2, and this host's own endpoint): listed and written whole.
  await hw.updatePeers(NET_A, [...[1, 2].flatMap((n) => [0, 1].map((i) => [`e${n}-${i}`, rec(n, i)] as const)), ['mine', rec(0, 0)]], { full: true, ...me });
  assert.deepEqual(ops.calls, ['sync 169.254.192.1/32,169.254.192.2/32']);
  // 200 more endpoints of node 1: its peer entry is unchanged, so the kernel is not called.
  await hw.updatePeers(NET_A, Array.from({ length: 200 }, (_, i) => [`more${i}`, rec(1, i + 10)] as const), { full: false, ...me });
  assert.equal(ops.calls.length, 1);
  // A new node: one call, for that node only.
  await hw.updatePeers(NET_A, [['e3-0', rec(3, 0)]], { full: false, ...me });
  assert.deepEqual(ops.calls.slice(1), ['change set=169.254.192.3/32 remove=']);
  // Node 2 loses one of its two endpoints: still a peer, no call; then its last: removed.
  await hw.updatePeers(NET_A, [['e2-0', undefined]], { full: false, ...me });
  assert.equal(ops.calls.length, 2);
  await hw.updatePeers(NET_A, [['e2-1', undefined]], { full: false, ...me });
  assert.deepEqual(ops.calls.slice(2), [`change set= remove=${key(2)}`]);
  // Node 3 moves (new underlay endpoint, same key): updated in place.
  await hw.updatePeers(NET_A, [['e3-0', { ...rec(3, 0), wireguard: { ...rec(3, 0).wireguard!, endpoint: '198.51.100.99:51820' } }]], { full: false, ...me });
  assert.deepEqual(ops.calls.slice(3), ['change set=169.254.192.3/32 remove=']);
  // Node 1 also on network B; network A goes: node 1 stays (B still asks for it), node 3 goes.
  await hw.updatePeers(NET_B, [['b1', rec(1, 99)]], { full: true, ...me });
  assert.equal(ops.calls.length, 4, 'node 1 already written');
  await hw.dropNetwork(NET_A);
  assert.deepEqual(ops.calls.slice(4), [`change set= remove=${key(3)}`]);
  // A full pass of B that finds what it had: nothing written.
  await hw.updatePeers(NET_B, [['b1', rec(1, 99)]], { full: true, ...me });
  assert.equal(ops.calls.length, 5);
});

test('WireGuard peers after a failed write: the next change lists the interface and writes the whole set', async () => {
  const ops = fakeOps();
  const hw = wireguard(ops);
  await hw.updatePeers(NET_A, [['e1', rec(1, 0)]], { full: true, ...me });
  ops.failNext = true;
  await assert.rejects(hw.updatePeers(NET_A, [['e2', rec(2, 0)]], { full: false, ...me }), /wg set failed/);
  await hw.updatePeers(NET_A, [['e3', rec(3, 0)]], { full: false, ...me });
  assert.deepEqual(ops.calls, ['sync 169.254.192.1/32', 'sync 169.254.192.1/32,169.254.192.2/32,169.254.192.3/32']);
});

test('WireGuard peers before the interface exists are only remembered, and written whole once it does', async () => {
  const ops = fakeOps();
  const hw = wireguard(ops);
  hw.info = undefined;
  await hw.updatePeers(NET_A, [['e1', rec(1, 0)], ['e2', rec(2, 0)]], { full: true, ...me });
  assert.deepEqual(ops.calls, []);
  hw.info = { publicKey: key(0), endpoint: '198.51.100.10:51820', tunnel: '169.254.192.0' };
  await hw.updatePeers(NET_A, [['e2', undefined]], { full: false, ...me });
  assert.deepEqual(ops.calls, ['sync 169.254.192.1/32']);
});
