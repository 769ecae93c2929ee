/**
 * Benchmark: one overlay network at scale. A lab of H engine hosts (default 20: 3 swarm managers,
 * which are the etcd members, and H-3 workers) with N endpoints on ONE overlay network:
 * - the time until a new endpoint is programmed on every host (its FDB entry appears on each host's
 *   VXLAN device; target < 500 ms), on the empty network and with N endpoints on it;
 * - etcd writes per container start and removal (key changes under the cluster's root, counted by a
 *   watch; target: a constant, whatever N);
 * - redesd memory per remote endpoint (RSS of every host before and after the endpoints arrive);
 * - etcd's own rates on this machine (puts/s, watch fan-out to W clients), for the paper estimate
 *   of 1000 hosts in bench/results/overlay-scale.md.
 *
 * Endpoints: C real containers (`docker run -d --net`, spread over the hosts; $BENCH_CONTAINERS,
 * default 2 per host) and N - C records written to etcd as a host of their own would write them
 * (same key, same JSON, one lease: "synthetic" endpoints on fake hosts 198.51.100.101+). Every engine
 * treats both alike (it programs what the store says); containers cost 1-5 s each on the shared 2
 * cores, so a thousand of them is out of reach here.
 *
 * Use: `node dist/bench/overlay-scale.js [N]` (default $BENCH_N or 1000); $BENCH_HOSTS (20),
 * $BENCH_CONTAINERS, $BENCH_ROUNDS (samples per measure, 5). Not part of `npm run bench` (minutes
 * long): `npm run bench:overlay-scale`. Runs in its own lab, removed at the end.
 *
 * Beware: 2 shared cores run H daemons, 3 etcd members and the monitors: the load is in the notes.
 */
import { loadavg } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { openLab, startLab, type Lab } from '../test/helpers/lab.js';
import { formatTable, median, runIfMain, type Row } from './lib.js';
import { writeResults } from './results-file.js';
import { EtcdProbe, FdbWatch, daemonRss } from './scale-probes.js';

const SUBNET = '10.128.0.0/16';
const LIMIT_MS = 120_000;

interface Counted {
  changes: Record<string, number>;
  revisions: number;
}

const envInt = (name: string, dflt: number): number => {
  const v = Number(process.env[name] ?? dflt);
  if (!Number.isInteger(v) || v < 0) throw new Error(`${name} must be a whole number, got ${process.env[name]}`);
  return v;
};
const hex2 = (n: number): string => (n & 255).toString(16).padStart(2, '0');
const loadNow = (): string => loadavg()[0]?.toFixed(1) ?? '?';

async function pool(n: number, width: number, fn: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(width, n) }, async () => {
    while (next < n) await fn(next++);
  }));
}

async function docker(lab: Lab, i: number, args: string[]): Promise<string> {
  return (await lab.hosts[i - 1]!.docker(args, { timeoutMs: LIMIT_MS })).stdout.trim();
}

/** Swarm: host 1 inits, 2 and 3 join as managers (etcd members), the rest as workers (4 at a time). */
async function formSwarm(lab: Lab, hosts: number): Promise<void> {
  await docker(lab, 1, ['swarm', 'init', '--advertise-addr', lab.lanAddr(1)]);
  const manager = await docker(lab, 1, ['swarm', 'join-token', '-q', 'manager']);
  const worker = await docker(lab, 1, ['swarm', 'join-token', '-q', 'worker']);
  for (let i = 2; i <= Math.min(3, hosts); i++) await docker(lab, i, ['swarm', 'join', '--token', manager, `${lab.lanAddr(1)}:2377`]);
  await pool(Math.max(0, hosts - 3), 4, async (k) => {
    await docker(lab, k + 4, ['swarm', 'join', '--token', worker, `${lab.lanAddr(1)}:2377`]);
  });
}

/** A record as an engine of a fake host would publish it (records.ts's EndpointRecord). */
function synthetic(k: number, hosts: number): { id: string; mac: string; value: string } {
  const id = `5e${k.toString(16).padStart(8, '0')}`.padEnd(64, 'a');
  const mac = `02:99:00:${hex2(k >> 16)}:${hex2(k >> 8)}:${hex2(k)}`;
  const ipv4 = `10.128.${128 + ((k >> 8) & 127)}.${k & 255}`;
  const value = JSON.stringify({ node: `synthetic-${k % hosts}`, containerId: id, name: `syn${k}`, aliases: [], ipv4, mac, vtep: `198.51.100.${101 + (k % hosts)}` });
  return { id, mac, value };
}

const sumWrites = (c: Counted): number => Object.values(c.changes).reduce((a, b) => a + b, 0);
const describeWrites = (c: Counted): string => `${sumWrites(c)} (${Object.entries(c.changes).sort().map(([k, v]) => `${k} ${v}`).join(', ')}; ${c.revisions} revisions)`;

export async function benchOverlayScale(lab: Lab, opts: { hosts: number; endpoints: number; containers: number; rounds: number }): Promise<string> {
  const { hosts, endpoints, rounds } = opts;
  const containers = Math.min(opts.containers, endpoints);
  const all = Array.from({ length: hosts }, (_, i) => i + 1);
  const notes: string[] = [];
  const t0 = Date.now();
  if ((await docker(lab, 1, ['info', '--format', '{{.Swarm.LocalNodeState}}'])) !== 'active') {
    await formSwarm(lab, hosts);
    notes.push(`swarm of ${hosts} (3 managers = etcd members, ${Math.max(0, hosts - 3)} workers) formed in ${((Date.now() - t0) / 1000).toFixed(1)} s, load ${loadNow()}`);
  }
  // Names of this run: a lab given by $BENCH_LAB may hold an earlier run's network and containers.
  const tag = Math.random().toString(36).slice(2, 6);
  const NET = `scale${tag}`;
  const clusterId = await docker(lab, 1, ['info', '--format', '{{.Swarm.Cluster.ID}}']);
  const netId = await docker(lab, 1, ['network', 'create', '-d', 'overlay', '--attachable', '--subnet', SUBNET, NET]);
  const fdb = FdbWatch.start(lab, `vx-${netId.slice(0, 12)}`);
  const probe = await EtcdProbe.start(lab, clusterId);
  const rows: Record<string, number[]> = {};
  const add = (k: string, v: number): void => void (rows[k] ??= []).push(v);
  const writes: Record<string, string[]> = {};
  try {
    // Writes nobody asked for (leases are not writes; node records should not change): the baseline.
    await sleep(2000);
    await probe.call<Counted>({ op: 'count' });
    await sleep(5000);
    notes.push(`etcd key changes in 5 s of idle cluster: ${describeWrites(await probe.call<Counted>({ op: 'count' }))}`);

    let placed = 0;
    const runOne = async (label: string): Promise<void> => {
      const h = (placed++ % hosts) + 1;
      const name = `s${tag}${placed}`;
      await probe.call<Counted>({ op: 'count' });
      const t1 = Date.now();
      await docker(lab, h, ['run', '-d', '--net', NET, '--name', name, 'busybox', 'sleep', '36000']);
      const t2 = Date.now();
      const mac = await docker(lab, h, ['inspect', '-f', `{{(index .NetworkSettings.Networks "${NET}").MacAddress}}`, name]);
      const seen = await fdb.allHosts(mac, all.filter((x) => x !== h), LIMIT_MS);
      (writes[label] ??= []).push(describeWrites(await probe.call<Counted>({ op: 'count' })));
      add(`${label}: docker run -d --net overlay (CLI)`, t2 - t1);
      add(`${label}: run started → FDB entry on all ${hosts - 1} other hosts`, seen.last - t1);
      add(`${label}: run returned → FDB entry on all other hosts (<0: before)`, seen.last - t2);
      add(`${label}: FDB entry on first host → on last host`, seen.last - seen.first);
    };
    let synth = 0;
    const syntheticOne = async (label: string): Promise<void> => {
      const s = synthetic(synth++, hosts);
      const t1 = Date.now();
      const { acks } = await probe.call<{ acks: number[] }>({ op: 'put', items: [{ key: `/redes/${clusterId}/endpoints/${netId}/${s.id}`, value: s.value }] });
      const seen = await fdb.allHosts(s.mac, all, LIMIT_MS);
      add(`${label}: record put acknowledged → FDB entry on all ${hosts} hosts`, seen.last - (acks[0] ?? t1));
    };

    // The empty network.
    for (let r = 0; r < rounds; r++) await runOne('empty network');
    for (let r = 0; r < rounds; r++) await syntheticOne('empty network');

    // The bulk: real containers, then records up to N endpoints in all.
    const bulkReal = Math.max(0, containers - 2 * rounds);
    const tb = Date.now();
    await pool(bulkReal, envInt('BENCH_CONCURRENCY', 4), async () => {
      const h = (placed++ % hosts) + 1;
      await docker(lab, h, ['run', '-d', '--net', NET, '--name', `s${tag}${placed}`, 'busybox', 'sleep', '36000']);
    });
    notes.push(`${placed} containers started (${bulkReal} of them 4 at a time in ${((Date.now() - tb) / 1000).toFixed(1)} s), load ${loadNow()}`);
    const rssBefore = await Promise.all(all.map((i) => daemonRss(lab, i)));
    const fill = Math.max(0, endpoints - placed - synth - 2 * rounds);
    const batch = Array.from({ length: fill }, () => synthetic(synth++, hosts));
    const tf = Date.now();
    const { acks } = await probe.call<{ acks: number[] }>({ op: 'put', items: batch.map((s) => ({ key: `/redes/${clusterId}/endpoints/${netId}/${s.id}`, value: s.value })), inflight: 16 });
    const putDone = Date.now();
    for (const [k, s] of batch.entries()) add(`burst of ${fill} records: put acknowledged → FDB entry on all hosts`, (await fdb.allHosts(s.mac, all, LIMIT_MS)).last - (acks[k] ?? tf));
    const allDone = Date.now();
    notes.push(`burst: ${fill} endpoint records put in ${((putDone - tf) / 1000).toFixed(1)} s (16 in flight); every host held every entry ${((allDone - tf) / 1000).toFixed(1)} s after the first put; load ${loadNow()}`);
    await sleep(3000);
    const rssAfter = await Promise.all(all.map((i) => daemonRss(lab, i)));
    const perEndpoint = all.map((i) => ((rssAfter[i - 1] ?? 0) - (rssBefore[i - 1] ?? 0)) / Math.max(1, fill));
    notes.push(`redesd RSS per remote endpoint: median ${median(perEndpoint).toFixed(2)} KiB over ${hosts} hosts (RSS median ${(median(rssBefore) / 1024).toFixed(1)} MiB before, ${(median(rssAfter) / 1024).toFixed(1)} MiB after ${fill} more endpoints; per host KiB/endpoint: ${perEndpoint.map((x) => x.toFixed(1)).join(' ')})`);

    // The full network.
    const label = `${placed + synth}+ endpoints`;
    for (let r = 0; r < rounds; r++) await runOne(label);
    for (let r = 0; r < rounds; r++) await syntheticOne(label);
    notes.push(`${placed} real containers and ${synth} synthetic endpoints on network ${NET} at the end (${placed + synth} endpoints), load ${loadNow()}`);

    // Removal writes.
    await probe.call<Counted>({ op: 'count' });
    await docker(lab, 1, ['rm', '-f', `s${tag}1`]);
    notes.push(`etcd key changes for one docker rm -f: ${describeWrites(await probe.call<Counted>({ op: 'count' }))}`);
    for (const [k, v] of Object.entries(writes)) notes.push(`etcd key changes per docker run, ${k}: ${v.join(' | ')}`);

    // etcd's rates, for the paper estimate.
    const rates = await probe.call<{ puts: Record<string, number>; fanout: Record<string, { eventsPerSec: number; p50Ms: number; p95Ms: number; seconds: number }> }>({ op: 'rates', puts: 2000, inflight: [1, 16, 64], watchers: [1, 20, 100], events: 200 });
    notes.push(`etcd (3 members, TLS) puts/s by puts in flight: ${Object.entries(rates.puts).map(([w, r]) => `${w}: ${r}`).join(', ')}; load ${loadNow()}`);
    for (const [w, f] of Object.entries(rates.fanout)) notes.push(`etcd watch fan-out, ${w} watching clients, 200 puts: ${f.eventsPerSec} events/s delivered, put → all ${w} have it p50 ${f.p50Ms.toFixed(1)} ms p95 ${f.p95Ms.toFixed(1)} ms`);
  } finally {
    fdb.stop();
    await probe.close();
  }
  const table: Row[] = Object.entries(rows).map(([op, samples]) => ({ op, samples }));
  notes.push(`load average at the end: ${loadavg().map((x) => x.toFixed(1)).join(' ')} (2 cores, shared with other engineers)`);
  await writeResults('overlay-scale', table, { notes });
  return `${formatTable(table)}\n${notes.join('\n')}`;
}

async function main(endpoints: number): Promise<void> {
  const hosts = envInt('BENCH_HOSTS', 20);
  // $BENCH_LAB: an existing lab of $BENCH_HOSTS hosts, used and kept (to measure again without a new lab).
  const given = process.env.BENCH_LAB;
  const lab = given ? openLab(given, hosts) : await startLab(undefined, { hosts });
  try {
    process.stdout.write(`${await benchOverlayScale(lab, { hosts, endpoints, containers: envInt('BENCH_CONTAINERS', 2 * hosts), rounds: envInt('BENCH_ROUNDS', 5) })}\n`);
  } catch (e) {
    // Said before the lab goes, whose removal may fail too and would hide it.
    process.stderr.write(`bench overlay-scale: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    throw e;
  } finally {
    if (!given) await lab.down();
  }
}

runIfMain(import.meta.url, 'overlay-scale', 1000, main);
