/**
 * An engine whose lease runs out while it keeps running must never leave an address held twice:
 * a lab of three hosts on the lab's own etcd (`--etcd`), one overlay network; host 3's redesd is
 * paused (SIGSTOP, as a long stall or a partition would) past its lease TTL; meanwhile host 1 takes
 * the address of one of host 3's containers with `--ip`; then host 3 resumes (SIGCONT). Checks that
 * the taker alone holds the address (every host's inspect, the etcd claims and endpoint records),
 * that it answers from the other hosts (host 3 included), that the old container runs on without
 * that network (one `disconnect` event, the reason in the daemon log), that host 3's other container
 * is published again and reachable, and that `lab down` leaves nothing.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { LAB_ETCD_KEYS, parseKeys } from '../helpers/lab-etcd-keys.js';
import { addressHolders, startLab, type Lab } from '../helpers/lab.js';
import { cmd } from '../helpers/sandbox.js';

async function waitFor(what: string, ms: number, ok: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await ok())) {
    if (Date.now() > deadline) assert.fail(`${what}: not within ${ms} ms`);
    await sleep(100);
  }
}

/** The VXLAN forwarding entries of host `h` for the network: [MAC, destination host]. */
async function fdbOf(lab: Lab, h: number, netId: string): Promise<Array<{ mac: string; dst: string }>> {
  const r = await lab.hosts[h - 1]!.exec(['bridge', '-json', 'fdb', 'show', 'dev', `vx-${netId.slice(0, 12)}`]);
  return (JSON.parse(r.stdout || '[]') as Array<{ mac: string; dst?: string }>).flatMap((e) => (e.dst ? [{ mac: e.mac, dst: e.dst }] : []));
}

const web = (text: string): string[] => ['busybox', 'sh', '-c', `mkdir -p /www && echo ${text} > /www/i.txt && httpd -f -p 80 -h /www`];

test('overlay: an engine paused past its lease resumes without holding an address another host took meanwhile', { timeout: 480_000 }, async (t) => {
  const lab = await startLab(t, { hosts: 3, etcd: true });
  const netId = (await lab.context(1, ['network', 'create', '-d', 'overlay', 'ov'])).stdout.trim();
  for (const h of [2, 3]) await waitFor(`ov listed on host ${h}`, 10_000, async () => (await lab.context(h, ['network', 'ls', '-q', '--filter', 'name=ov'])).stdout.trim() !== '');
  await lab.context(3, ['run', '-d', '--name', 'old', '--net', 'ov', ...web('from-old')], { timeoutMs: 60_000 });
  await lab.context(3, ['run', '-d', '--name', 'kept3', '--net', 'ov', ...web('from-kept3')], { timeoutMs: 60_000 });
  await lab.context(2, ['run', '-d', '--name', 'probe2', '--net', 'ov', 'busybox', 'sleep', '3600'], { timeoutMs: 60_000 });
  const show = async (h: number, name: string, field: string): Promise<string> => (await lab.context(h, ['inspect', '-f', `{{.NetworkSettings.Networks.ov.${field}}}`, name])).stdout.trim();
  const [addr, oldEp, oldMac, keptAddr, keptMac] = [await show(3, 'old', 'IPAddress'), await show(3, 'old', 'EndpointID'), await show(3, 'old', 'MacAddress'), await show(3, 'kept3', 'IPAddress'), await show(3, 'kept3', 'MacAddress')];
  const oldId = (await lab.context(3, ['inspect', '-f', '{{.Id}}', 'old'])).stdout.trim();
  const host3 = lab.lanAddr(3);
  await waitFor('host 3 containers programmed on host 1', 20_000, async () => (await fdbOf(lab, 1, netId)).filter((e) => e.dst === host3).length === 2);

  // Pause host 3's engine (only the daemon: its containers run on) until its lease has run out.
  const pid = await lab.hosts[2]!.daemonPid();
  assert.ok(pid, 'host 3 runs its daemon');
  const pausedAt = Math.floor(Date.now() / 1000);
  process.kill(pid, 'SIGSTOP');
  try {
    await waitFor('host 3 endpoints expired on host 1', 30_000, async () => (await fdbOf(lab, 1, netId)).every((e) => e.dst !== host3));
    await lab.context(1, ['run', '-d', '--name', 'taker', '--net', 'ov', '--ip', addr, ...web('from-taker')], { timeoutMs: 60_000 });
    const takerEp = await show(1, 'taker', 'EndpointID');
    assert.equal(await show(1, 'taker', 'IPAddress'), addr);
    process.kill(pid, 'SIGCONT');

    // Host 3 finds its lease lost, keeps kept3 (its address is still free) and drops old's endpoint.
    await waitFor('old off the network on host 3', 60_000, async () => (await lab.context(3, ['inspect', '-f', '{{.State.Status}} [{{range $k, $v := .NetworkSettings.Networks}}{{$k}} {{end}}]', 'old'])).stdout.trim() === 'running []');
    await waitFor('kept3 published again (programmed on host 1)', 30_000, async () => (await fdbOf(lab, 1, netId)).some((e) => e.dst === host3 && e.mac === keptMac));
    assert.ok(!(await fdbOf(lab, 1, netId)).some((e) => e.mac === oldMac), 'old is programmed nowhere');

    // Inspect, on every host: each address once; the taker holds old's.
    const held = await addressHolders(lab, 'ov');
    assert.deepEqual([held.get(addr), held.get(keptAddr), held.size], ['taker', 'kept3', 3]);
    // The cluster store: one claim per address, the taker's for old's address; no endpoint record of old, none twice.
    const keys = async (prefix: string): Promise<Record<string, string>> => parseKeys((await lab.lan([process.execPath, LAB_ETCD_KEYS, lab.name, prefix])).stdout);
    const claims = await keys(`ipam/${netId}/`);
    assert.equal(claims[`ipam/${netId}/${addr}`], takerEp, 'the taker holds the claim');
    assert.ok(!Object.values(claims).includes(oldEp), 'old holds no claim');
    const records = Object.entries(await keys(`endpoints/${netId}/`)).map(([k, v]) => [k.slice(k.lastIndexOf('/') + 1), (JSON.parse(v) as { ipv4?: string }).ipv4] as const);
    assert.ok(!records.some(([ep]) => ep === oldEp), 'no endpoint record of old');
    const ips = records.map(([, ip]) => ip);
    assert.equal(new Set(ips).size, ips.length, `an address in two endpoint records: ${JSON.stringify(records)}`);
    assert.equal(records.length, 3);

    // The taker answers its address from the other hosts, host 3 (where old held it) included; kept3 answers too.
    for (const [h, from, url, want] of [[2, 'probe2', addr, 'from-taker'], [3, 'kept3', addr, 'from-taker'], [2, 'probe2', keptAddr, 'from-kept3']] as const) {
      let got = '';
      await waitFor(`${from} reaches ${url}`, 20_000, async () => (got = (await lab.context(h, ['exec', from, 'timeout', '3', 'wget', '-qO-', `http://${url}/i.txt`], { allowFail: true })).stdout.trim()) === want).catch(() => assert.equal(got, want, `${from} -> ${url}`));
    }
    // old runs on with no overlay address in its namespace; one disconnect event; the log says why.
    const oldAddrs = JSON.parse((await cmd(['ip', '-n', `${lab.name}3-c-${oldId.slice(0, 12)}`, '-json', '-4', 'addr', 'show'])).stdout) as Array<{ addr_info: Array<{ local: string }> }>;
    assert.ok(!oldAddrs.flatMap((l) => l.addr_info.map((a) => a.local)).includes(addr), 'old no longer holds the address');
    const events = await lab.context(3, ['events', '--since', String(pausedAt), '--until', String(Math.floor(Date.now() / 1000) + 1), '--filter', 'type=network', '--filter', 'event=disconnect', '--format', '{{.Actor.Attributes.container}} {{.Actor.Attributes.name}}']);
    assert.deepEqual(events.stdout.trim().split('\n'), [`${oldId} ov`], 'one disconnect event, for old on ov');
    const log3 = await readFile(`/run/redes/${lab.name}3/redesd.log`, 'utf8');
    assert.ok(log3.includes(`disconnected from network \\"ov\\": address ${addr} was claimed by another host while this engine's lease was lost`), 'the daemon log says why');
    // Host 3 is a peer again through kept3.
    const peers = JSON.parse((await lab.context(1, ['network', 'inspect', '-f', '{{json .Peers}}', 'ov'])).stdout) as Array<{ IP: string }>;
    assert.deepEqual(peers.map((p) => p.IP), [lab.lanAddr(1), lab.lanAddr(2), host3]);
  } finally {
    // Never leave the daemon stopped (a no-op when it runs); only while that pid is still host 3's daemon.
    if ((await lab.hosts[2]!.daemonPid()) === pid) process.kill(pid, 'SIGCONT');
  }
  await lab.down();
});
