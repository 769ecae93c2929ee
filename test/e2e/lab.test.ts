/**
 * `redes lab`: hosts on one LAN and one shared world, a docker context per host, and a `down` that
 * leaves nothing (checked by the helper's down).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startLab } from '../helpers/lab.js';
import { REDES_BIN, cmd } from '../helpers/sandbox.js';
import { answersWithin } from '../helpers/reach.js';

test('a lab of two hosts: LAN between them, one world, a context each, nothing left after down', { timeout: 180_000 }, async (t) => {
  const lab = await startLab(t, { hosts: 2 });
  const [h1, h2] = lab.hosts;
  assert.ok(h1 && h2);
  const addrs = await h2.ipJson<{ ifname: string; addr_info: { local: string }[] }[]>(['addr', 'show']);
  const byIf = Object.fromEntries(addrs.map((l) => [l.ifname, l.addr_info.map((a) => a.local)]));
  assert.ok(byIf.eth1?.includes('198.51.100.12'), JSON.stringify(byIf));
  assert.ok(byIf.eth0?.includes('203.0.113.12'), JSON.stringify(byIf));
  const answers = (argv: string[]) => async (): Promise<boolean> => (await cmd(argv, { allowFail: true })).code === 0;
  assert.ok(await answersWithin(async () => (await h1.exec(['busybox', 'ping', '-c1', '-W1', lab.lanAddr(2)], { allowFail: true })).code === 0), 'host 1 → host 2 over the LAN');
  assert.ok(await answersWithin(async () => (await h2.exec(['busybox', 'ping', '-c1', '-W1', lab.lanAddr(1)], { allowFail: true })).code === 0), 'host 2 → host 1 over the LAN');
  for (const h of [h1, h2]) assert.equal((await h.exec(['timeout', '5', 'busybox', 'wget', '-qO-', 'http://203.0.113.1/'])).stdout.trim(), 'hello from world');
  // The world sees each host by its own address (one world, not one per host).
  assert.ok(await answersWithin(answers(['nsenter', `--net=/run/netns/${lab.name}-world`, '--', 'busybox', 'ping', '-c1', '-W1', '203.0.113.11'])), 'the world → host 1');
  const info = await lab.context(2, ['info', '--format', '{{.Swarm.LocalNodeState}} {{.ID}}']);
  const direct = await h2.docker(['info', '--format', '{{.Swarm.LocalNodeState}} {{.ID}}']);
  assert.equal(info.stdout, direct.stdout);
  const ls = await cmd([REDES_BIN, 'lab', 'ls']);
  assert.match(ls.stdout, new RegExp(`^${lab.name}\\s+2 hosts\\s+${lab.name}-1\\(198\\.51\\.100\\.11, running\\)`, 'm'));
  await lab.down();
});

test('lab names that could clash with host sandboxes are refused', async () => {
  const r = await cmd([REDES_BIN, 'lab', 'up', '--name', 'lab1'], { allowFail: true });
  assert.equal(r.code, 1);
  assert.match(r.stderr, /invalid lab name "lab1"/);
});
