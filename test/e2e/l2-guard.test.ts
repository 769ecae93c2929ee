// Layer-2 anti-spoofing on bridge networks (what moby#36355 leaves open): a container with NET_ADMIN
// and NET_RAW takes its neighbour's address with gratuitous ARP, and sends raw frames that forge a MAC,
// an ARP sender, IPv4/IPv6 sources, a neighbour advertisement, a router advertisement and a VLAN tag.
// A third container still reaches the right neighbour, none of the forged frames arrives (a raw
// receiver in the third container's namespace counts them), the sender's own frames do, and the
// `bridge <prefix>` table's named counters count the drops. The guarded ports follow connect,
// disconnect, stop and a daemon killed with SIGKILL.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { nsenterArgv } from '../../src/kernel/netns.js';
import { cmd, startSandbox, type Sandbox } from '../helpers/sandbox.js';
import { containerNetns, inspectContainer, runDetached, waitFor } from '../helpers/containers.js';
import { containerReaches } from '../helpers/reach.js';

const FRAMES = fileURLToPath(new URL('../../../test/helpers/l2-frames.py', import.meta.url));
const T = { timeoutMs: 20_000 };
const SERVE = 'mkdir -p /www && echo $0 > /www/index.html && httpd -p 80 -h /www && exec sleep 3600';
const NET = 'l2net';

let sb: Sandbox;
before(async () => {
  sb = await startSandbox(undefined, { prefix: 'l2g' });
  await sb.docker(['network', 'create', '--subnet', '10.77.0.0/24', '--ipv6', '--subnet', '2001:db8:77::/64', NET], T);
  await runDetached(sb, ['--name', 'victim', '--net', NET, 'busybox', 'sh', '-c', SERVE, 'victim']);
  await runDetached(sb, ['--name', 'attacker', '--net', NET, '--cap-add', 'NET_ADMIN', '--cap-add', 'NET_RAW', 'busybox', 'sh', '-c', SERVE, 'attacker']);
  await runDetached(sb, ['--name', 'third', '--net', NET, 'busybox', 'sleep', '3600']);
});
after(async () => {
  await sb?.down();
});

interface Ident {
  id: string;
  mac: string;
  ip4: string;
  ip6: string;
}
async function ident(name: string): Promise<Ident> {
  const c = await inspectContainer(sb, name);
  const ep = c.NetworkSettings.Networks[NET] as unknown as { MacAddress: string; IPAddress: string; GlobalIPv6Address: string };
  return { id: c.Id, mac: ep.MacAddress, ip4: ep.IPAddress, ip6: ep.GlobalIPv6Address };
}

/** The named drop counters of `table bridge <prefix>`. */
async function counters(): Promise<Record<string, number>> {
  const r = await sb.exec(['nft', '-j', 'list', 'counters', 'table', 'bridge', sb.name], T);
  const out: Record<string, number> = {};
  for (const o of (JSON.parse(r.stdout) as { nftables: Array<{ counter?: { name: string; packets: number } }> }).nftables) {
    if (o.counter) out[o.counter.name] = o.counter.packets;
  }
  return out;
}

async function setElements(set: string): Promise<string> {
  return (await sb.exec(['nft', 'list', 'set', 'bridge', sb.name, set], T)).stdout;
}

const page = async (from: string, ip: string): Promise<string> =>
  (await sb.docker(['exec', from, 'timeout', '3', 'wget', '-qO-', `http://${ip}/`], { ...T, allowFail: true })).stdout.trim();

/** The MAC `from` has for `ip` in its neighbour table ('' when none). */
async function neighbourMac(from: string, ip: string): Promise<string> {
  const out = (await sb.docker(['exec', from, 'ip', 'neigh', 'show', ip], T)).stdout;
  return /lladdr ([0-9a-f:]{17})/.exec(out)?.[1] ?? '';
}

test('gratuitous ARP for a neighbour address is dropped: the third container keeps reaching the neighbour', async () => {
  const [v, a] = [await ident('victim'), await ident('attacker')];
  await waitFor('victim serves', async () => (await page('third', v.ip4)) === 'victim');
  assert.equal(await neighbourMac('third', v.ip4), v.mac);
  const before = await counters();
  // What the reproduction does: take the address, announce it (-U) and answer for it (-A).
  const script = `ip addr add ${v.ip4}/24 dev eth0 && arping -U -c 2 -I eth0 -s ${v.ip4} ${v.ip4}; arping -A -c 2 -I eth0 -s ${v.ip4} ${v.ip4}; true`;
  await sb.docker(['exec', 'attacker', 'sh', '-c', script], T);
  assert.equal(await neighbourMac('third', v.ip4), v.mac, 'the third container still maps the address to the victim');
  assert.equal(await page('third', v.ip4), 'victim');
  // A container that arrives now asks by broadcast: only the victim's answer gets through.
  const fresh = await sb.docker(['run', '--rm', '--net', NET, 'busybox', 'sh', '-c', `wget -qO- http://${v.ip4}/; ip neigh show ${v.ip4}`], T);
  assert.match(fresh.stdout, /^victim$/m);
  assert.match(fresh.stdout, new RegExp(`lladdr ${v.mac}`));
  const after = await counters();
  assert.ok((after.spoof_arp ?? 0) - (before.spoof_arp ?? 0) >= 4, `4 forged ARP frames counted: ${JSON.stringify(after)}`);
  await sb.docker(['exec', 'attacker', 'ip', 'addr', 'del', `${v.ip4}/24`, 'dev', 'eth0'], T);
  assert.notEqual(a.mac, v.mac);
});

test('forged raw frames never reach another container; the sender own frames do', async (ctx) => {
  const [v, a, t] = [await ident('victim'), await ident('attacker'), await ident('third')];
  const ll6 = (await sb.docker(['exec', 'attacker', 'ip', '-6', 'addr', 'show', 'dev', 'eth0', 'scope', 'link'], T)).stdout.match(/inet6 (fe80::[0-9a-f:]+)\//)?.[1];
  assert.ok(ll6, 'the attacker has a link-local address');
  const count = 5;
  const before = await counters();
  // A raw receiver in the third container's namespace, started before the frames are sent.
  // It counts until its stdin is closed, a second after the sender is done: the window does not
  // depend on how long python takes to start under load (a fixed 3 s one missed the frames, and
  // a 10 s wait for 'ready' failed, at load 45).
  const [prog = '', ...args] = nsenterArgv(containerNetns(sb, t.id), ['python3', FRAMES, 'recv', 'eth0', '120']);
  const recv = spawn(prog, args, { stdio: ['pipe', 'pipe', 'inherit'] });
  let out = '';
  recv.stdout.on('data', (d: Buffer) => (out += d.toString()));
  await waitFor('the receiver is ready', async () => out.includes('ready'), 60_000);
  const spec = { me: { mac: a.mac, ip4: a.ip4, ll6 }, victim: { mac: v.mac, ip4: v.ip4, ip6: v.ip6 }, count };
  const sender = nsenterArgv(containerNetns(sb, a.id), ['python3', FRAMES, 'send', 'eth0', JSON.stringify(spec)]);
  const sent = JSON.parse((await cmd(sender, T)).stdout) as Record<string, number>;
  await sleep(1000);
  const closed = new Promise((resolve) => recv.on('close', resolve));
  recv.stdin.end();
  await closed;
  const got = JSON.parse(out.split('\n').filter(Boolean).pop() ?? '{}') as Record<string, number>;
  const forged = Object.keys(sent).filter((k) => !k.startsWith('ok'));
  assert.deepEqual(forged.sort(), ['arp-ip', 'arp-mac', 'ip4', 'ip6', 'mac', 'na', 'ra', 'vlan']);
  assert.deepEqual({ ok: got.ok, ok6: got.ok6 }, { ok: count, ok6: count }, 'the sender own frames arrive (the receiver works)');
  const sum = (m: Record<string, number>, ks: string[]): number => ks.reduce((n, k) => n + (m[k] ?? 0), 0);
  ctx.diagnostic(`spoofed frames: ${sum(sent, forged)} sent (${forged.length} kinds), ${sum(got, forged)} delivered; own frames: ${sum(sent, ['ok', 'ok6'])} sent, ${sum(got, ['ok', 'ok6'])} delivered`);
  assert.deepEqual(forged.filter((k) => got[k]), [], `forged frames delivered: ${JSON.stringify(got)}`);
  const after = await counters();
  const d = (k: string): number => (after[k] ?? 0) - (before[k] ?? 0);
  assert.ok(d('spoof_mac') >= count && d('spoof_arp') >= 2 * count && d('spoof_ip') >= 2 * count && d('spoof_nd') >= 2 * count && d('spoof_proto') >= count, JSON.stringify({ before, after }));
  assert.equal(await page('third', v.ip4), 'victim');
});

test('the guarded ports follow connect with --ip, --mac-address, disconnect and stop', async () => {
  await sb.docker(['network', 'create', '--subnet', '10.78.0.0/24', 'l2other'], T);
  await runDetached(sb, ['--name', 'multi', '--net', NET, '--mac-address', '02:42:de:ad:be:ef', 'busybox', 'sleep', '3600']);
  assert.match(await setElements('l2mac'), /02:42:de:ad:be:ef/);
  await sb.docker(['network', 'connect', '--ip', '10.78.0.9', 'l2other', 'multi'], T);
  assert.match(await setElements('l2ip4'), /\. 10\.78\.0\.9\b/);
  assert.ok(await containerReaches(sb, 'multi', '10.78.0.1'), 'own traffic on the second network passes');
  await sb.docker(['network', 'disconnect', 'l2other', 'multi'], T);
  assert.doesNotMatch(await setElements('l2ip4'), /10\.78\.0\.9/);
  await sb.docker(['stop', '-t', '1', 'multi'], T);
  assert.doesNotMatch(await setElements('l2mac'), /de:ad:be:ef/);
  await sb.docker(['rm', 'multi'], T);
  await sb.docker(['network', 'rm', 'l2other'], T);
});

test('a daemon killed with SIGKILL comes back with the same ports guarded', async () => {
  const mac = await setElements('l2mac');
  await sb.kill9Daemon();
  await sb.restartDaemon();
  assert.equal(await setElements('l2mac'), mac);
  const v = await ident('victim');
  assert.equal(await page('third', v.ip4), 'victim');
});
