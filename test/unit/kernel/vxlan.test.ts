// The overlay data plane against the real kernel: two hosts on a LAN (test-lan.ts), a bridge and a
// VXLAN device on each, one container on each, entries programmed statically. Checks what the
// kernel holds, that traffic passes once and only once the peer is programmed, and that a frame for
// an unknown container is never flooded to the LAN.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ipJson } from '../../../src/kernel/ip.js';
import { captureContains, countPackets, startCapture } from '../../helpers/capture.js';
import { makeTestLan, plugContainer } from '../../helpers/test-lan.js';
import { answersWithin } from '../../helpers/reach.js';
import { ensureOverlayLinks, listOwnedLinks, listPeers, programPeers, removeOverlayLinks, VXLAN_PORT } from '../../../src/kernel/vxlan.js';

const ALIAS = 'redes-test-overlay';
const names = { bridge: 'ovt-br', vxlan: 'ovt-vx' };
const mac = (i: number): string => `02:42:0a:00:00:0${i}`;

interface VxlanInfo {
  ifname: string;
  mtu: number;
  master?: string;
  ifalias?: string;
  linkinfo?: { info_kind?: string; info_data?: { id?: number; local?: string; port?: number; learning?: boolean; proxy?: boolean } };
}

test('two hosts: VXLAN links as specified, traffic only to programmed peers, nothing flooded, removal is clean', async (t) => {
  const lan = await makeTestLan('ovk', 2);
  t.after(() => lan.close());
  const dir = await mkdtemp(join(tmpdir(), `${lan.prefix}-`));
  t.after(() => rm(dir, { recursive: true, force: true }));
  for (const [i, h] of lan.hosts.entries()) {
    assert.deepEqual(await ensureOverlayLinks({ ...names, vni: 4097, local: lan.hostAddr(i), mtu: 1450, alias: ALIAS }, h), { vxlanCreated: true });
    // Idempotent: a second call changes nothing and does not fail.
    assert.deepEqual(await ensureOverlayLinks({ ...names, vni: 4097, local: lan.hostAddr(i), mtu: 1450, alias: ALIAS }, h), { vxlanCreated: false });
    await plugContainer(h, names.bridge, lan.containers[i] ?? '', { ip: `10.0.0.${i + 2}/24`, mac: mac(i + 2), mtu: 1450, hostIf: 'vethc' });
  }
  const [vx] = await ipJson<VxlanInfo[]>(['-details', 'link', 'show', 'dev', names.vxlan], lan.hosts[0]);
  assert.equal(vx?.linkinfo?.info_kind, 'vxlan');
  assert.deepEqual(
    { id: vx?.linkinfo?.info_data?.id, local: vx?.linkinfo?.info_data?.local, port: vx?.linkinfo?.info_data?.port, learning: vx?.linkinfo?.info_data?.learning, proxy: vx?.linkinfo?.info_data?.proxy },
    { id: 4097, local: '198.51.100.11', port: VXLAN_PORT, learning: false, proxy: true },
  );
  assert.equal(vx?.mtu, 1450);
  assert.equal(vx?.master, names.bridge);
  assert.deepEqual((await listOwnedLinks(ALIAS, lan.hosts[0])).map((l) => l.ifname).sort(), [names.bridge, names.vxlan].sort());

  const [c1 = '', c2 = ''] = lan.containers;
  const [h1 = '', h2 = ''] = lan.hosts;
  const ping = async (from: string, to: string): Promise<boolean> => (await lan.exec(from, ['busybox', 'ping', '-c', '1', '-W', '1', to])).code === 0;
  assert.equal(await ping(c1, '10.0.0.3'), false, 'no entries yet: no way across');

  const p1 = { ip: '10.0.0.2', mac: mac(2), vtep: lan.hostAddr(0) };
  const p2 = { ip: '10.0.0.3', mac: mac(3), vtep: lan.hostAddr(1) };
  await programPeers(names.vxlan, [p2], [], h1);
  await programPeers(names.vxlan, [p1], [], h2);
  await programPeers(names.vxlan, [p1], [], h2); // replace: safe to repeat
  assert.deepEqual(await listPeers(names.vxlan, h1), [p2]);
  assert.deepEqual(await listPeers(names.vxlan, h2), [p1]);

  // A marker served by c2 travels in clear VXLAN on the LAN (the encrypted test expects the opposite).
  await writeFile(join(dir, 'm.txt'), 'PLAINMARKER-7f3a\n');
  const pcap = join(dir, 'lan.pcap');
  const cap = await startCapture(lan.lan, 'lanbr', pcap);
  // Asked once a second until a reply (one lost packet is no verdict), before the 3 s httpd starts.
  assert.ok(await answersWithin(() => ping(c1, '10.0.0.3')), 'programmed peer answers');
  const httpd = lan.exec(c2, ['timeout', '3', 'busybox', 'httpd', '-f', '-p', '8080', '-h', dir], 6000);
  let body = '';
  for (let i = 0; i < 20 && !body; i++) body = (await lan.exec(c1, ['timeout', '2', 'busybox', 'wget', '-qO-', 'http://10.0.0.3:8080/m.txt'])).stdout;
  assert.equal(body, 'PLAINMARKER-7f3a\n');
  // An address nobody has: ARP goes unanswered and nothing leaves the host.
  assert.equal(await ping(c1, '10.0.0.99'), false);
  await cap.stop();
  assert.ok((await countPackets(pcap, `udp port ${VXLAN_PORT}`)) > 0);
  assert.ok(await captureContains(pcap, 'PLAINMARKER-7f3a'));
  const arpOut = await countPackets(pcap, `udp port ${VXLAN_PORT} and udp[8+8+12:2] = 0x0806`);
  assert.equal(arpOut, 0, 'ARP is answered by the proxy, never carried across');
  const unknown = await countPackets(pcap, `udp port ${VXLAN_PORT} and udp[8+8+14+16:4] = 0x0a000063`);
  assert.equal(unknown, 0, 'nothing for 10.0.0.99 reached the LAN');
  await httpd;

  // Removing the peer cuts the path again.
  await programPeers(names.vxlan, [], [p2], h1);
  await programPeers(names.vxlan, [], [p2], h1); // already gone: fine
  assert.deepEqual(await listPeers(names.vxlan, h1), []);
  assert.equal(await ping(c1, '10.0.0.3'), false);

  await removeOverlayLinks(names, h1);
  await removeOverlayLinks(names, h1);
  assert.deepEqual(await listOwnedLinks(ALIAS, h1), []);
});

test('a link of that name that is not ours is refused; a VXLAN with another VNI is re-made', async (t) => {
  const lan = await makeTestLan('ovk', 1);
  t.after(() => lan.close());
  const h = lan.hosts[0] ?? '';
  await ensureOverlayLinks({ ...names, vni: 300, local: lan.hostAddr(0), mtu: 1450, alias: ALIAS }, h);
  assert.deepEqual(await ensureOverlayLinks({ ...names, vni: 301, local: lan.hostAddr(0), mtu: 1400, alias: ALIAS }, h), { vxlanCreated: true }, 're-made: empty again');
  const [vx] = await ipJson<VxlanInfo[]>(['-details', 'link', 'show', 'dev', names.vxlan], h);
  assert.equal(vx?.linkinfo?.info_data?.id, 301);
  assert.equal(vx?.mtu, 1400);
  assert.equal(vx?.master, names.bridge);
  await assert.rejects(ensureOverlayLinks({ bridge: 'eth1', vxlan: 'ovt-vx2', vni: 5, local: lan.hostAddr(0), mtu: 1450, alias: ALIAS }, h), /not an overlay link of ours/);
  assert.deepEqual((await listOwnedLinks(ALIAS, h)).map((l) => l.ifname).sort(), [names.bridge, names.vxlan].sort());
});
