// WireGuard against the real kernel (or wireguard-go where the kernel has no module, as on this
// project's machines): two hosts on a LAN, one WireGuard interface each, an encrypted overlay's
// VXLAN bound to the tunnel addresses. A LAN capture during a transfer must hold no VXLAN packet
// and no plaintext; removing a peer cuts the path.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from '../../../src/kernel/run.js';
import { captureContains, countPackets, startCapture } from '../../helpers/capture.js';
import { makeTestLan, plugContainer } from '../../helpers/test-lan.js';
import { answersWithin } from '../../helpers/reach.js';
import { ensureOverlayLinks, programPeers, VXLAN_PORT } from '../../../src/kernel/vxlan.js';
import { ensureWireguard, generatePrivateKey, listWireguardPeers, publicKeyOf, removeWireguard, syncWireguardPeers, wireguardSupport, WIREGUARD_GO_SOCKET_BUFFER, WIREGUARD_GO_TXQUEUELEN, WIREGUARD_OVERHEAD } from '../../../src/kernel/wireguard.js';
import { nsenterArgv } from '../../../src/kernel/netns.js';

const ALIAS = 'redes-test-wg';

test('keys: the public key matches what wg computes, private keys are clamped and random', async () => {
  const k = generatePrivateKey();
  assert.notEqual(k, generatePrivateKey());
  const raw = Buffer.from(k, 'base64');
  assert.equal(raw.length, 32);
  assert.equal((raw[0] ?? 1) & 7, 0);
  assert.equal((raw[31] ?? 0) & 0xc0, 0x40);
  const { stdout } = await run(['wg', 'pubkey'], { input: `${k}\n` });
  assert.equal(publicKeyOf(k), stdout.trim());
  assert.throws(() => publicKeyOf('c2hvcnQ='), /32 bytes/);
});

test('encrypted overlay: only WireGuard UDP on the LAN, no VXLAN, no plaintext; peers sync both ways', async (t) => {
  const lan = await makeTestLan('owg', 2);
  t.after(() => lan.close());
  const dir = await mkdtemp(join(tmpdir(), `${lan.prefix}-`));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const support = await wireguardSupport(lan.hosts[0]);
  assert.ok('kind' in support, `this machine has wireguard-go installed: ${JSON.stringify(support)}`);
  const keys = lan.hosts.map(() => generatePrivateKey());
  const tunnel = (i: number): string => `169.254.192.${i + 1}`;
  const wgIf = `${lan.prefix}wg`.slice(0, 12);
  for (const [i, h] of lan.hosts.entries()) {
    const ifname = `${wgIf}${i}`;
    lan.wgLinks.push({ ns: h, ifname });
    await ensureWireguard({ ifname, privateKey: keys[i] ?? '', listenPort: 51820, address: `${tunnel(i)}/18`, mtu: 1500 - WIREGUARD_OVERHEAD, alias: ALIAS }, h);
  }
  const peerOf = (i: number): { publicKey: string; endpoint: string; allowedIp: string } => ({ publicKey: publicKeyOf(keys[i] ?? ''), endpoint: `${lan.hostAddr(i)}:51820`, allowedIp: `${tunnel(i)}/32` });
  const [h1 = '', h2 = ''] = lan.hosts;
  await syncWireguardPeers(`${wgIf}0`, [peerOf(1)], h1);
  await syncWireguardPeers(`${wgIf}1`, [peerOf(0)], h2);
  await syncWireguardPeers(`${wgIf}1`, [peerOf(0)], h2); // nothing to change: no-op
  assert.deepEqual(await listWireguardPeers(`${wgIf}0`, h1), [peerOf(1)]);
  if ('kind' in support && support.kind === 'wireguard-go') {
    // Its UDP sockets hold bursts: 7 MiB each way (the kernel reports twice what was set).
    for (const h of lan.hosts) {
      const ss = (await run(nsenterArgv(h, ['ss', '-uamnH', 'sport', '=', ':51820']))).stdout;
      assert.match(ss, new RegExp(`rb${2 * WIREGUARD_GO_SOCKET_BUFFER},t0,tb${2 * WIREGUARD_GO_SOCKET_BUFFER}\\b`), ss);
    }
    // And its TUN device queues a burst for it.
    const [wgLink] = JSON.parse((await run(['ip', '-n', h1, '-json', 'link', 'show', 'dev', `${wgIf}0`])).stdout) as Array<{ txqlen: number }>;
    assert.equal(wgLink?.txqlen, WIREGUARD_GO_TXQUEUELEN);
  }

  const mtu = 1500 - WIREGUARD_OVERHEAD - 50;
  for (const [i, h] of lan.hosts.entries()) {
    await ensureOverlayLinks({ bridge: 'owg-br', vxlan: 'owg-vx', vni: 4200, local: tunnel(i), mtu, alias: ALIAS }, h);
    await plugContainer(h, 'owg-br', lan.containers[i] ?? '', { ip: `10.9.0.${i + 2}/24`, mac: `02:42:0a:09:00:0${i + 2}`, mtu, hostIf: 'vethc' });
  }
  await programPeers('owg-vx', [{ ip: '10.9.0.3', mac: '02:42:0a:09:00:03', vtep: tunnel(1) }], [], h1);
  await programPeers('owg-vx', [{ ip: '10.9.0.2', mac: '02:42:0a:09:00:02', vtep: tunnel(0) }], [], h2);

  const marker = 'SECRETMARKER-c0ffee';
  await writeFile(join(dir, 'm.txt'), `${marker}\n`.repeat(2000));
  const pcap = join(dir, 'lan.pcap');
  const cap = await startCapture(lan.lan, 'lanbr', pcap);
  const [c1 = '', c2 = ''] = lan.containers;
  // The tunnel first answers an echo, asked once a second: a lost handshake initiation is resent only
  // after 5 s, longer than the 4 s httpd below lives.
  const echo = async (): Promise<boolean> => (await lan.exec(c1, ['busybox', 'ping', '-c', '1', '-W', '1', '10.9.0.3'])).code === 0;
  assert.ok(await answersWithin(echo, 15_000), 'c1 reaches c2 through the tunnel');
  const httpd = lan.exec(c2, ['timeout', '4', 'busybox', 'httpd', '-f', '-p', '8080', '-h', dir], 7000);
  let body = '';
  for (let i = 0; i < 30 && !body; i++) body = (await lan.exec(c1, ['timeout', '2', 'busybox', 'wget', '-qO-', 'http://10.9.0.3:8080/m.txt'])).stdout;
  await cap.stop();
  await httpd;
  assert.equal(body.length, (marker.length + 1) * 2000, 'the transfer crossed the encrypted path');
  assert.equal(await countPackets(pcap, `udp port ${VXLAN_PORT}`), 0, 'no VXLAN on the LAN');
  const wgPackets = await countPackets(pcap, 'udp port 51820');
  assert.ok(wgPackets > 10, 'WireGuard carried it');
  assert.equal(await captureContains(pcap, marker), false, 'no plaintext on the LAN');

  // Host 2 leaves h1's peer set: the path is gone.
  await syncWireguardPeers(`${wgIf}0`, [], h1);
  assert.deepEqual(await listWireguardPeers(`${wgIf}0`, h1), []);
  assert.equal(await echo(), false);

  await removeWireguard(`${wgIf}0`, h1);
  await removeWireguard(`${wgIf}0`, h1);
  if ('kind' in support && support.kind === 'wireguard-go') {
    // Deleting the link ends the userspace process: nothing of ours keeps running.
    let left = '';
    for (let i = 0; i < 50; i++) {
      left = (await run(['pgrep', '-f', `^wireguard-go ${wgIf}0$`], { allowFailure: true })).stdout.trim();
      if (!left) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.equal(left, '', 'wireguard-go ended with its interface');
  }
});

test('a WireGuard name taken by a link that is not ours is refused', async (t) => {
  const lan = await makeTestLan('owg', 1);
  t.after(() => lan.close());
  await assert.rejects(ensureWireguard({ ifname: 'eth1', privateKey: generatePrivateKey(), listenPort: 51820, address: '169.254.192.1/18', mtu: 1420, alias: ALIAS }, lan.hosts[0]), /not a WireGuard link of ours/);
});

test('the userspace program may be given by path: a missing one is named in the reason, and nothing is made', async (t) => {
  const lan = await makeTestLan('owg', 1);
  t.after(() => lan.close());
  const h = lan.hosts[0];
  const missing = '/nonexistent/redes-test/wireguard-go';
  const support = await wireguardSupport(h, missing);
  // A kernel with the module never needs the program; this project's kernels have none.
  if ('kind' in support) assert.equal(support.kind, 'kernel');
  else assert.equal(support.missing, `the kernel has no WireGuard module and there is no executable wireguard-go at ${missing}`);
  const dir = await mkdtemp(join(tmpdir(), `${lan.prefix}-`));
  t.after(() => rm(dir, { recursive: true, force: true }));
  await writeFile(join(dir, 'wireguard-go'), '#!/bin/sh\nexit 1\n', { mode: 0o644 });
  const notExecutable = await wireguardSupport(h, join(dir, 'wireguard-go'));
  if (!('kind' in notExecutable)) assert.match(notExecutable.missing, /there is no executable wireguard-go at \/tmp\//);
  const ifname = `${lan.prefix}wgm`.slice(0, 12);
  if (!('kind' in support)) {
    await assert.rejects(ensureWireguard({ ifname, privateKey: generatePrivateKey(), listenPort: 51820, address: '169.254.192.1/18', mtu: 1440, alias: ALIAS }, h, missing), /no WireGuard on this host: .*no executable wireguard-go at/);
    const links = JSON.parse((await run(['ip', '-n', h ?? '', '-json', 'link', 'show'])).stdout) as Array<{ ifname: string }>;
    assert.deepEqual(links.filter((l) => l.ifname === ifname), []);
  }
});
