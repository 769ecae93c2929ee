/**
 * Endpoint plumbing facts that the code relies on, checked against the kernel in throwaway namespaces
 * of ours (`ip -n`, never the caller's own namespace): a bridge refuses its 1024th port with "Exchange
 * full" (EXFULL over netlink), which addBridgeEndpoint turns into a clear error.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { ipBatch, ipJson, type IpCommand } from '../kernel/ip.js';
import { addVethPort, NetlinkError } from '../kernel/netlink.js';
import { netnsAdd, netnsDelete } from '../kernel/netns.js';
import { CommandError } from '../kernel/run.js';
import { isRedesError } from '../util/errors.js';
import { BRIDGE_MAX_PORTS, bridgeFull } from './endpoint.js';

test('a Linux bridge takes 1023 ports; the 1024th fails with "Exchange full", mapped to a clear error', async (t) => {
  const ns = `rtep${randomBytes(4).toString('hex')}`;
  t.after(() => netnsDelete(ns));
  await netnsAdd(ns);
  const cmds: IpCommand[] = [['link', 'add', 'br0', 'type', 'bridge']];
  for (let i = 0; i <= BRIDGE_MAX_PORTS; i++) cmds.push(['link', 'add', `v${i}`, 'type', 'veth', 'peer', 'name', `p${i}`]);
  for (let i = 0; i < BRIDGE_MAX_PORTS; i++) cmds.push(['link', 'set', `v${i}`, 'master', 'br0']);
  await ipBatch(cmds, ns);
  const err = await ipBatch([['link', 'set', `v${BRIDGE_MAX_PORTS}`, 'master', 'br0']], ns).then(() => undefined, (e: unknown) => e);
  assert.ok(err instanceof CommandError, 'the 1024th port is refused');
  const mapped = bridgeFull(err, 'br-abc');
  assert.ok(isRedesError(mapped));
  assert.equal(mapped.kind, 'forbidden');
  assert.match(mapped.message, /bridge br-abc already has 1023 ports/);
  assert.equal(bridgeFull(new Error('other'), 'br-abc'), undefined, 'other errors pass through');
  // The same refusal over netlink (what addBridgeEndpoint uses): EXFULL, and the kernel removes the pair.
  const nlErr = (() => {
    try {
      addVethPort({ hostIfname: 'vfull', hostNetns: ns, bridge: 'br0', mtu: 1500, peer: { ifname: 'pfull', mac: '02:42:0a:00:00:09', netns: ns } });
    } catch (e) {
      return e;
    }
  })();
  assert.ok(nlErr instanceof NetlinkError, String(nlErr));
  assert.match(bridgeFull(nlErr, 'br-abc')?.message ?? '', /bridge br-abc already has 1023 ports/);
  assert.equal((await ipJson<unknown[]>(['link', 'show', 'dev', 'vfull'], ns).catch(() => [])).length, 0, 'no half-made pair left');
});
