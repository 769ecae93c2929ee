/**
 * Benchmark: the overlay data plane between engine hosts, and how fast a new endpoint is programmed
 * on the other hosts. Three host namespaces on one LAN (test/helpers/test-lan.ts), one overlay driver
 * per host acting in its namespace, sharing the in-memory cluster store (the etcd store adds about
 * 1.6 ms per watch event on these machines: platform notes).
 *
 * Measured (iperf3, one TCP stream, `-t 3`, interleaved rounds):
 * - underlay: host 1 → host 2 on their LAN addresses (the reference);
 * - overlay: container on host 1 → container on host 2 through VXLAN (target ≥ 0.9 × underlay);
 * - encrypted: the same through WireGuard (wireguard-go here: no kernel module; target ≥ 1 Gbit/s).
 * And, n times: joinEndpoint on host 1 (address, veth, leased record) until hosts 2 and 3 hold the
 * FDB/neighbour entry, and until host 2 knows the name (what its DNS answers).
 *
 * Use: `node dist/bench/overlay.js [n]` (rounds, default $BENCH_N or 3).
 *
 * Beware: client, server, wireguard-go and the kernel share the machine's 2 cores; compare the paths
 * of one run. Nothing runs in the root namespace.
 */
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { MemoryClusterBackend } from '../src/cluster/index.js';
import { OverlayDriver, type DriverNetwork, type OverlayOptions } from '../src/drivers/index.js';
import { nsenterArgv } from '../src/kernel/netns.js';
import { startDetached, stopPid } from '../src/kernel/process.js';
import { run } from '../src/kernel/run.js';
import { makeTestLan } from '../test/helpers/test-lan.js';
import { listPeers } from '../src/kernel/vxlan.js';
import { wireguardIfname } from '../src/drivers/overlay/host-wireguard.js';
import { vxlanName } from '../src/drivers/overlay/options.js';
import { runIfMain, type Row } from './lib.js';
import { writeResults } from './results-file.js';

const SECONDS = 3;
const PORT = 5201;

interface IperfRun {
  gbps: number;
  retransmits: number;
}

function parseIperf(json: string): IperfRun {
  const r = JSON.parse(json) as { error?: string; end?: { sum_received?: { bits_per_second?: number }; sum_sent?: { retransmits?: number } } };
  const bps = r.end?.sum_received?.bits_per_second;
  if (r.error || bps === undefined) throw new Error(`iperf3: ${r.error ?? 'no sum_received'}`);
  return { gbps: bps / 1e9, retransmits: r.end?.sum_sent?.retransmits ?? 0 };
}

async function iperf(dir: string, serverNs: string, clientNs: string, target: string, tag: string): Promise<IperfRun> {
  const log = join(dir, `iperf-${tag}-${Date.now()}.log`);
  const pid = await startDetached([...nsenterArgv(serverNs, ['iperf3', '-s', '-1', '-p', String(PORT), '--forceflush'])], { logPath: log });
  try {
    for (let i = 0; !(await readFile(log, 'utf8').catch(() => '')).includes('Server listening'); i++) {
      if (i > 300) throw new Error(`iperf3 server in ${serverNs} did not start`);
      await sleep(10);
    }
    const { stdout } = await run(nsenterArgv(clientNs, ['iperf3', '-c', target, '-p', String(PORT), '-t', String(SECONDS), '-J', '--connect-timeout', '3000']), { timeoutMs: (SECONDS + 20) * 1000 });
    return parseIperf(stdout);
  } finally {
    await stopPid(pid, { graceMs: 2000 });
  }
}

/** CPU seconds (user + system) the processes have used so far (clock ticks of 10 ms). */
async function cpuSeconds(pids: readonly number[]): Promise<number> {
  let ticks = 0;
  for (const p of pids) {
    const f = (await readFile(`/proc/${p}/stat`, 'utf8')).split(') ')[1]?.split(' ') ?? [];
    ticks += Number(f[11]) + Number(f[12]);
  }
  return ticks / 100;
}

/** The wireguard-go processes serving these interfaces (none when the kernel module serves them). */
async function wireguardGoPids(ifnames: readonly string[]): Promise<number[]> {
  const out: number[] = [];
  for (const d of await readdir('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    const argv = (await readFile(`/proc/${d}/cmdline`, 'utf8').catch(() => '')).split('\0');
    if (argv[0]?.endsWith('wireguard-go') && ifnames.includes(argv[1] ?? '')) out.push(Number(d));
  }
  return out;
}

/** A kernel counter of a namespace (nstat's name, e.g. UdpRcvbufErrors), absolute. */
async function counter(ns: string, name: string): Promise<number> {
  const { stdout } = await run(nsenterArgv(ns, ['nstat', '-az', '-s', name]));
  return Number(/^\S+\s+(\d+)/m.exec(stdout.split('\n').find((l) => l.startsWith(name)) ?? '')?.[1] ?? NaN);
}

/** Packets received on an interface so far. */
async function rxPackets(ns: string, ifname: string): Promise<number> {
  const [l] = JSON.parse((await run(['ip', '-n', ns, '-j', '-s', 'link', 'show', 'dev', ifname])).stdout) as Array<{ stats64: { rx: { packets: number } } }>;
  return l?.stats64.rx.packets ?? NaN;
}

const net = (d: OverlayDriver, id: string, subnet: string, raw: Record<string, string>): DriverNetwork<OverlayOptions> => {
  const { options } = d.parseOptions(raw, { id, predefined: false });
  return { id, name: id.slice(0, 6), internal: false, enableIPv4: true, enableIPv6: false, options, ipv4: { subnet, gateway: subnet.replace(/0\/24$/, '1'), auxAddresses: {} } };
};

const med = (xs: readonly number[]): number => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)] ?? NaN;

export async function main(n: number): Promise<void> {
  const lan = await makeTestLan('bov', 3);
  const dir = await mkdtemp(join(tmpdir(), `${lan.prefix}-`));
  const backend = new MemoryClusterBackend();
  const drivers = lan.hosts.map((ns, i) => {
    const store = backend.store(`node-${i + 1}`);
    lan.wgLinks.push({ ns, ifname: wireguardIfname(`${lan.prefix}h${i}`) });
    return new OverlayDriver({ cluster: () => ({ store, advertiseAddress: lan.hostAddr(i) }), instance: `${lan.prefix}h${i}`, dataDir: join(dir, `h${i}`), hostNetns: ns });
  });
  try {
    const plain = net(drivers[0]!, 'a'.repeat(64), '10.0.1.0/24', {});
    const enc = net(drivers[0]!, 'b'.repeat(64), '10.0.2.0/24', { encrypted: '' });
    for (const d of drivers) {
      await d.restore([]);
      await d.createNetwork(plain);
      await d.createNetwork(enc);
    }
    // Containers: c1 on host 1 and c2 on host 2, each on both networks (eth0 plain, eth1 encrypted).
    const ips: Record<string, string> = {};
    for (const [i, d] of drivers.slice(0, 2).entries()) {
      for (const [k, nw] of [plain, enc].entries()) {
        const epId = `${i}${k}`.padEnd(64, 'f');
        const { ipv4 } = await d.allocator.allocate(nw, epId, {});
        ips[`${i}${k}`] = ipv4 ?? '';
        const mac = `02:42:0a:00:0${k + 1}:${(10 + i).toString(16).padStart(2, '0')}`;
        await d.joinEndpoint(nw, lan.containers[i] ?? '', { id: epId, container: { id: epId, name: `c${i}`, aliases: [] }, ifname: `eth${k}`, mac, ipv4: `${ipv4}/24`, mtu: 1500 });
      }
    }
    await backend.settle();
    for (const d of drivers) await d.settled();

    const tput: Record<string, number[]> = { underlay: [], overlay: [], encrypted: [] };
    const [h1 = '', h2 = ''] = lan.hosts;
    const [c1 = '', c2 = ''] = lan.containers;
    // Where the encrypted path's time goes: wireguard-go's CPU (both ends), tunnel packets per second
    // on the receiving host, TCP retransmits and UDP receive-buffer drops there.
    const wgIfs = [0, 1].map((i) => wireguardIfname(`${lan.prefix}h${i}`));
    const wgPids = await wireguardGoPids(wgIfs);
    const wgRun = { cores: [] as number[], kpps: [] as number[], retransmits: [] as number[], rcvbufDrops: [] as number[] };
    for (let r = 0; r < n; r++) {
      tput.underlay!.push((await iperf(dir, h2, h1, lan.hostAddr(1), 'underlay')).gbps);
      tput.overlay!.push((await iperf(dir, c2, c1, ips['10'] ?? '', 'overlay')).gbps);
      const [cpu0, pk0, drop0, t0] = [await cpuSeconds(wgPids), await rxPackets(h2, wgIfs[1]!), await counter(h2, 'UdpRcvbufErrors'), performance.now()];
      const e = await iperf(dir, c2, c1, ips['11'] ?? '', 'encrypted');
      const secs = (performance.now() - t0) / 1000;
      tput.encrypted!.push(e.gbps);
      wgRun.cores.push(((await cpuSeconds(wgPids)) - cpu0) / secs);
      wgRun.kpps.push(((await rxPackets(h2, wgIfs[1]!)) - pk0) / secs / 1000);
      wgRun.retransmits.push(e.retransmits);
      wgRun.rcvbufDrops.push((await counter(h2, 'UdpRcvbufErrors')) - drop0);
    }

    // Programming latency: a join on host 1 until hosts 2 and 3 hold the entry / host 2 knows the name.
    const joins: number[] = [];
    const prog: number[] = [];
    const named: number[] = [];
    const extra = lan.containers[2] ?? '';
    for (let i = 0; i < Math.max(10, n * 5); i++) {
      const epId = `9${i}`.padEnd(64, 'e');
      const t0 = performance.now();
      const { ipv4 } = await drivers[0]!.allocator.allocate(plain, epId, {});
      await drivers[0]!.joinEndpoint(plain, extra, { id: epId, container: { id: epId, name: `x${i}`, aliases: [] }, ifname: `ex${i}`, mac: `02:42:0a:00:09:${(i + 16).toString(16)}`, ipv4: `${ipv4}/24`, mtu: 1500 });
      const tj = performance.now();
      joins.push(tj - t0);
      // The record is out: how long until host 2 knows the name, and hosts 2 and 3 hold the entries.
      while (!drivers[1]!.remoteEndpoints(plain.id).some((e) => e.name === `x${i}`)) await new Promise((r) => setImmediate(r));
      named.push(performance.now() - tj);
      await Promise.all([drivers[1]!.settled(), drivers[2]!.settled()]);
      prog.push(performance.now() - tj);
      const both = await Promise.all([lan.hosts[1], lan.hosts[2]].map((ns) => listPeers(vxlanName(plain.id), ns)));
      if (!both.every((ps) => ps.some((p) => p.ip === ipv4))) throw new Error(`entry for ${ipv4} missing after the watch settled`);
    }

    const ratio = med(tput.overlay!) / med(tput.underlay!);
    const rows: Row[] = [
      { op: 'joinEndpoint on host 1: address, veth, leased record (ms)', samples: joins },
      { op: 'record written -> name known on host 2 (ms)', samples: named },
      { op: 'record written -> entries in the kernel of hosts 2 and 3 (ms)', samples: prog },
    ];
    const notes = [
      `overlay throughput: iperf3 one TCP stream, ${SECONDS} s x ${n} rounds (Gbit/s, median): underlay ${med(tput.underlay!).toFixed(2)}, plain overlay ${med(tput.overlay!).toFixed(2)} (${ratio.toFixed(2)} x underlay, target >= 0.9), encrypted ${med(tput.encrypted!).toFixed(2)} (target >= 1)`,
      `encrypted path (${wgPids.length ? 'wireguard-go' : 'kernel WireGuard'}), per round: wireguard-go busy ${wgRun.cores.map((x) => x.toFixed(2)).join(' ')} cores (both ends), i.e. ${wgRun.cores.map((x, i) => (x / (tput.encrypted![i] ?? NaN)).toFixed(1)).join(' ')} cores per Gbit/s; ${wgRun.kpps.map((x) => x.toFixed(1)).join(' ')} kpps tunnel packets into host 2; TCP retransmits ${wgRun.retransmits.join(' ')}; host 2 UdpRcvbufErrors ${wgRun.rcvbufDrops.join(' ')}`,
      `samples Gbit/s: underlay ${tput.underlay!.map((x) => x.toFixed(2)).join(' ')}; overlay ${tput.overlay!.map((x) => x.toFixed(2)).join(' ')}; encrypted ${tput.encrypted!.map((x) => x.toFixed(2)).join(' ')}`,
      `endpoint programming (in-memory store; etcd adds ~1.6 ms per watch event): join on host 1 median ${med(joins).toFixed(1)} ms, then ${med(named).toFixed(2)} ms until host 2 knows the name and ${med(prog).toFixed(1)} ms until hosts 2 and 3 hold the entries (target for run -> name resolves elsewhere: < 200 ms)`,
      `machine load average during the run: ${loadavg().map((x) => x.toFixed(1)).join(' ')} (2 cores, shared)`,
    ];
    process.stdout.write(`${notes.join('\n')}\n`);
    await writeResults('overlay', rows, { notes });
  } finally {
    for (const d of drivers) await d.close();
    await lan.close();
    await rm(dir, { recursive: true, force: true });
  }
}

runIfMain(import.meta.url, 'overlay', 3, main);
