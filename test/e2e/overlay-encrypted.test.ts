/**
 * An encrypted overlay (`--opt encrypted`) where one host has no WireGuard, with the stock docker
 * CLI: two managers, host 1 with WireGuard (wireguard-go here), host 2 started with
 * `--wireguard-go` naming a program that does not exist (this kernel has no WireGuard module, so
 * host 2 has no WireGuard at all). On host 2, `docker network create --opt encrypted` and `docker
 * run --network` of an encrypted network fail with a clear error and leave nothing half made: no
 * VXLAN, bridge, WireGuard interface or veth on either host, and the name, subnet, VNI and address
 * they tried are free (host 1 then takes exactly those). Plain overlays still work on host 2.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { readRecord } from '../../src/sandbox/layout.js';
import { startLab, type Lab } from '../helpers/lab.js';
import { cmd, REDES_BIN } from '../helpers/sandbox.js';

const MISSING = '/nonexistent/redes-e2e/wireguard-go';
const WHY = `the kernel has no WireGuard module and there is no executable wireguard-go at ${MISSING}; traffic is never sent unencrypted instead`;

async function waitFor(what: string, ms: number, ok: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await ok())) {
    if (Date.now() > deadline) assert.fail(`${what}: not within ${ms} ms`);
    await sleep(100);
  }
}

/** Host `h`'s links made by an overlay: VXLAN and bridge devices, WireGuard interface, container veths. */
async function overlayLinks(lab: Lab, h: number): Promise<string[]> {
  const links = await lab.hosts[h - 1]!.ipJson<Array<{ ifname: string }>>(['link', 'show']);
  return links.map((l) => l.ifname).filter((n) => /^(vx-|ov-|wg-|vo)/.test(n));
}

/** Restarts host `h`'s daemon with its recorded flags plus `extra` (kept for later restarts too). */
async function restartWith(lab: Lab, h: number, extra: readonly string[]): Promise<void> {
  const sb = lab.hosts[h - 1]!;
  const prior = (await readRecord(sb.name))?.daemonArgs ?? [];
  await sb.kill9Daemon();
  await cmd([REDES_BIN, 'sandbox', 'up', '--name', sb.name, ...[...prior, ...extra].map((a) => `--daemon-arg=${a}`)], { timeoutMs: 90_000 });
}

test('encrypted overlay on a host without WireGuard: create and run fail clearly, nothing half made, nothing held', { timeout: 480_000 }, async (t) => {
  const lab = await startLab(t, { hosts: 2 });
  await restartWith(lab, 2, [`--wireguard-go=${MISSING}`]);
  await lab.context(1, ['swarm', 'init', '--advertise-addr', lab.lanAddr(1)]);
  const token = (await lab.context(1, ['swarm', 'join-token', '-q', 'manager'])).stdout.trim();
  await lab.context(2, ['swarm', 'join', '--token', token, `${lab.lanAddr(1)}:2377`], { timeoutMs: 90_000 });

  // The create on host 2 (a manager): refused before anything is recorded or claimed.
  const spec = ['-d', 'overlay', '--attachable', '--opt', 'encrypted', '--subnet', '10.77.0.0/24', '-o', 'com.docker.network.driver.overlay.vxlanid_list=4242', 'sec'];
  const create = await lab.context(2, ['network', 'create', ...spec], { allowFail: true });
  assert.equal(create.code, 1, create.stdout);
  assert.equal(create.stderr.trim(), `Error response from daemon: encrypted overlay networks need WireGuard on every host, and this host has none: ${WHY}`);
  for (const h of [1, 2]) {
    assert.equal((await lab.context(h, ['network', 'ls', '-q', '--filter', 'name=sec'])).stdout.trim(), '', `sec is listed nowhere (host ${h})`);
    assert.deepEqual(await overlayLinks(lab, h), [], `no overlay link on host ${h}`);
  }
  // The same name, subnet and VNI are free: host 1 (with WireGuard) creates exactly that network.
  const netId = (await lab.context(1, ['network', 'create', ...spec])).stdout.trim();
  await waitFor('sec listed on host 2', 10_000, async () => (await lab.context(2, ['network', 'ls', '-q', '--filter', 'name=sec'])).stdout.trim() !== '');
  assert.equal((await lab.context(2, ['network', 'inspect', '-f', '{{index .Options "encrypted"}}|{{index .Options "com.docker.network.driver.overlay.vxlanid_list"}}', 'sec'])).stdout.trim(), '|4242');

  // A container of host 2 on it: refused before it takes an address; no link of the network there.
  const run = await lab.context(2, ['run', '--name', 'r2', '--network', 'sec', '--ip', '10.77.0.5', 'busybox', 'true'], { allowFail: true, timeoutMs: 60_000 });
  assert.equal(run.code, 125, run.stdout);
  assert.match(run.stderr, new RegExp(`^docker: Error response from daemon: .*cannot join secure network: this host has no WireGuard: ${WHY.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}`, 'm'));
  assert.equal((await lab.context(2, ['inspect', '-f', '{{.State.Status}} {{.State.Running}}', 'r2'])).stdout.trim(), 'created false');
  assert.deepEqual(await overlayLinks(lab, 2), [], 'nothing of sec on host 2');
  const again = await lab.context(2, ['start', 'r2'], { allowFail: true });
  assert.equal(again.code, 1);
  assert.match(again.stderr, /cannot join secure network: this host has no WireGuard/);
  // The address host 2 asked for is free: host 1 gets it, and no endpoint of host 2 is left on the network.
  await lab.context(1, ['run', '-d', '--name', 's1', '--network', 'sec', '--ip', '10.77.0.5', 'busybox', 'sleep', '600'], { timeoutMs: 60_000 });
  assert.equal((await lab.context(1, ['inspect', '-f', '{{.NetworkSettings.Networks.sec.IPAddress}}', 's1'])).stdout.trim(), '10.77.0.5');
  const peers = JSON.parse((await lab.context(1, ['network', 'inspect', '-f', '{{json .Peers}}', 'sec'])).stdout) as Array<{ IP: string }>;
  assert.deepEqual(peers.map((p) => p.IP), [lab.lanAddr(1)], 'host 1 is the only peer');
  const hostOne = await overlayLinks(lab, 1);
  assert.ok(hostOne.includes(`vx-${netId.slice(0, 12)}`) && hostOne.some((n) => n.startsWith('wg-')), `host 1 carries sec inside WireGuard: ${hostOne.join(' ')}`);

  // Plain overlays need no WireGuard: host 2 creates one and runs a container on it.
  await lab.context(2, ['network', 'create', '-d', 'overlay', '--attachable', 'plain']);
  await lab.context(2, ['run', '--rm', '--network', 'plain', 'busybox', 'true'], { timeoutMs: 60_000 });

  await lab.context(2, ['rm', 'r2']);
  await lab.context(1, ['rm', '-f', 's1']);
  await waitFor('sec removable', 10_000, async () => (await lab.context(1, ['network', 'rm', 'sec'], { allowFail: true })).code === 0);
  await lab.context(2, ['network', 'rm', 'plain']);
  await waitFor('no overlay link left on host 1', 10_000, async () => (await overlayLinks(lab, 1)).length === 0);
  await lab.down();
});
