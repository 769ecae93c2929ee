/**
 * Benchmark: many containers on one bridge (issue "speed and scale"): N containers (default 1000)
 * started one after another through the Engine API on a user network, then on the default bridge.
 * For each: the attach cost of the last ten against the first ten (and, steadier, of the last
 * hundred against the first hundred and along a fitted line), `docker ps`, `network inspect`
 * and `docker info` at N, name resolution + ping between random pairs, the daemon's memory per
 * container beyond its baseline, the kernel's neighbour table, and (user network) a kill -9 of the
 * daemon with N running: how long until the restarted daemon lists every one running again.
 *
 * Use: `node dist/bench/scale.js [N]` (or $BENCH_N; default 1000); `npm run bench` runs it with the
 * others. Runs in its own sandbox `bench<6 random>`, removed at the end.
 *
 * Beware: a Linux bridge takes at most 1024 ports, so N stays ≤ 1000 (the 1024th attach is refused
 * with a 403, tested elsewhere). The neighbour table is one table for every namespace of the machine
 * and its thresholds live in the root namespace, which we never change: the figures say how close to
 * gc_thresh3 the run came.
 */
import { readFile } from 'node:fs/promises';
import { startSandbox, type Sandbox } from '../test/helpers/sandbox.js';
import { apiRequest, keepAliveAgent } from '../test/helpers/engine-api.js';
import { formatTable, growth, median, runIfMain, time, type Row } from './lib.js';
import { writeResults } from './results-file.js';

const PAIRS = 20;
const QUERY_ROUNDS = 5;

async function rssKb(pid: number | undefined): Promise<number> {
  if (!pid) return NaN;
  const m = /VmRSS:\s+(\d+) kB/.exec(await readFile(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : NaN;
}

/** The machine's neighbour (ARP) table size: one table for every namespace. */
async function arpEntries(): Promise<number> {
  const lines = (await readFile('/proc/net/stat/arp_cache', 'utf8')).trim().split('\n');
  return parseInt(lines[1]?.split(/\s+/)[0] ?? 'NaN', 16);
}

/**
 * Packets the kernel dropped so far because a CPU's input backlog was full (/proc/net/softnet_stat,
 * second column, summed over CPUs; machine-wide). A bridge floods a broadcast or multicast frame to
 * every port, and each veth copy waits in that backlog (net.core.netdev_max_backlog, 1000 here), so
 * at 1000 ports a flood can lose copies: the count says whether that happened during a phase.
 */
async function backlogDrops(): Promise<number> {
  const lines = (await readFile('/proc/net/softnet_stat', 'utf8')).trim().split('\n');
  return lines.reduce((sum, l) => sum + parseInt(l.trim().split(/\s+/)[1] ?? '0', 16), 0);
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function gcThresh3(): Promise<number> {
  return Number((await readFile('/proc/sys/net/ipv4/neigh/default/gc_thresh3', 'utf8').catch(() => 'NaN')).trim());
}

interface Phase {
  rows: Row[];
  notes: string[];
  each: number[];
}

async function startMany(sb: Sandbox, n: number, net: string, tag: string): Promise<{ ids: string[]; each: number[] }> {
  const agent = keepAliveAgent();
  const ids: string[] = [];
  const each: number[] = [];
  try {
    for (let i = 1; i <= n; i++) {
      each.push(
        await time(async () => {
          const c = await apiRequest(sb.socket, 'POST', `/v1.50/containers/create?name=${tag}${i}`, { body: { Image: 'busybox', Cmd: ['sleep', '36000'], HostConfig: { NetworkMode: net } }, agent });
          if (c.status !== 201) throw new Error(`create #${i}: ${c.status} ${c.body}`);
          const id = c.json<{ Id: string }>().Id;
          const s = await apiRequest(sb.socket, 'POST', `/v1.50/containers/${id}/start`, { agent });
          if (s.status !== 204) throw new Error(`start #${i}: ${s.status} ${s.body}`);
          ids.push(id);
        }),
      );
      if (i % 100 === 0) process.stdout.write(`  ${tag}: ${i} running (last: ${each[each.length - 1]?.toFixed(0)} ms)\n`);
    }
  } finally {
    agent.destroy();
  }
  return { ids, each };
}

async function removeAll(sb: Sandbox, ids: readonly string[]): Promise<number> {
  const agent = keepAliveAgent();
  try {
    return await time(async () => {
      const queue = [...ids];
      await Promise.all(
        Array.from({ length: 4 }, async () => {
          for (let id = queue.pop(); id; id = queue.pop()) await apiRequest(sb.socket, 'DELETE', `/v1.50/containers/${id}?force=1`, { agent });
        }),
      );
    });
  } finally {
    agent.destroy();
  }
}

async function queries(sb: Sandbox, net: string): Promise<Row[]> {
  const rows: Row[] = [];
  for (const [op, args] of [
    ['cli ps', ['ps']],
    ['cli network inspect', ['network', 'inspect', net]],
    ['cli info', ['info']],
  ] as const) {
    const samples: number[] = [];
    for (let i = 0; i < QUERY_ROUNDS; i++) samples.push(await time(() => sb.docker(args, { timeoutMs: 120_000 })));
    rows.push({ op, samples });
  }
  return rows;
}

/**
 * `docker exec A ping -c1 B` for random pairs, B by name (user networks) or by address (the default
 * bridge has no name resolution, as in Docker); returns how many answered.
 */
async function pingPairs(sb: Sandbox, n: number, tag: string, byName: boolean): Promise<{ ok: number; samples: number[]; failures: string[] }> {
  let ok = 0;
  const samples: number[] = [];
  // A failed pair says why (a name that did not resolve reads differently from a lost packet).
  const failures: string[] = [];
  for (let k = 0; k < PAIRS; k++) {
    const a = 1 + Math.floor(Math.random() * n);
    let b = 1 + Math.floor(Math.random() * n);
    if (b === a) b = (b % n) + 1;
    const target = byName ? `${tag}${b}` : (await sb.docker(['inspect', '-f', '{{.NetworkSettings.IPAddress}}', `${tag}${b}`])).stdout.trim();
    let out = { code: 1, stdout: '', stderr: '' };
    samples.push(await time(async () => {
      out = await sb.docker(['exec', `${tag}${a}`, 'ping', '-c1', '-W3', target], { allowFail: true, timeoutMs: 30_000 });
    }));
    if (out.code === 0) ok++;
    else failures.push(`${tag}${a} → ${target}: exit ${out.code}, ${`${out.stdout} ${out.stderr}`.replace(/\s+/g, ' ').trim().slice(0, 300)}`);
  }
  return { ok, samples, failures };
}

async function phase(sb: Sandbox, n: number, net: string, tag: string, where: string, restart: boolean): Promise<Phase> {
  const notes: string[] = [];
  const rss0 = await rssKb(await sb.daemonPid());
  const arp0 = await arpEntries();
  const drops0 = await backlogDrops();
  const t0 = performance.now();
  const { ids, each } = await startMany(sb, n, net, tag);
  const total = performance.now() - t0;
  const drops1 = await backlogDrops();
  await sleep(10_000);
  const drops2 = await backlogDrops();
  const rssN = await rssKb(await sb.daemonPid());
  const rows: Row[] = [
    { op: `api create+start #1-10 (${where})`, samples: each.slice(0, 10) },
    { op: `api create+start #${n - 9}-${n} (${where})`, samples: each.slice(-10) },
  ];
  const first = median(each.slice(0, 10));
  const last = median(each.slice(-10));
  notes.push(`${where}: ${n} containers in ${(total / 1000).toFixed(1)} s; attach cost of the last ten / first ten = ${(last / first).toFixed(2)} (${last.toFixed(1)} / ${first.toFixed(1)} ms)`);
  if (n >= 200) {
    const g = growth(each, 100);
    notes.push(`${where}: attach cost, median of the last hundred / first hundred = ${g.ends.toFixed(2)}; fitted line: last / first = ${g.fitted.toFixed(2)}, ${g.slopePerHundred.toFixed(1)} ms more per hundred containers`);
  }
  for (const r of await queries(sb, net)) rows.push({ ...r, op: `${r.op} at ${n} (${where})` });
  const byName = net !== 'bridge';
  const pings = await pingPairs(sb, n, tag, byName);
  const drops3 = await backlogDrops();
  notes.push(`${where}: input backlog drops (machine-wide) ${drops1 - drops0} while starting ${n}, ${drops2 - drops1} in the 10 s after, ${drops3 - drops2} during the queries and pings`);
  rows.push({ op: `exec ping ${byName ? 'by name' : 'by address'} at ${n} (${where})`, samples: pings.samples });
  notes.push(`${where}: ${pings.ok}/${PAIRS} random pairs answered a ping ${byName ? 'by name (resolved by the embedded DNS)' : 'by address'}`);
  for (const f of pings.failures) notes.push(`${where}: failed pair ${f}`);
  notes.push(`${where}: daemon RSS ${(rss0 / 1024).toFixed(1)} MB before, ${(rssN / 1024).toFixed(1)} MB at ${n}: ${((rssN - rss0) / n).toFixed(1)} KB per container`);
  notes.push(`${where}: neighbour table (the machine's) ${arp0} entries before, ${await arpEntries()} after the pings; gc_thresh3 ${await gcThresh3()} (root namespace, left as it is)`);
  if (restart) {
    await sb.kill9Daemon();
    const agent = keepAliveAgent();
    try {
      const tr = performance.now();
      await sb.restartDaemon();
      const up = performance.now() - tr;
      let listed = 0;
      while (listed < n) {
        const r = await apiRequest(sb.socket, 'GET', '/v1.50/containers/json', { agent });
        listed = r.status === 200 ? r.json<Array<{ State: string }>>().filter((c) => c.State === 'running').length : 0;
        if (performance.now() - tr > 300_000) break;
      }
      const all = performance.now() - tr;
      notes.push(`${where}: kill -9 of the daemon with ${n} running: restarted and answering in ${(up / 1000).toFixed(2)} s, all ${listed} listed running after ${(all / 1000).toFixed(2)} s; RSS then ${((await rssKb(await sb.daemonPid())) / 1024).toFixed(1)} MB`);
      const after = await pingPairs(sb, n, tag, byName);
      notes.push(`${where}: after the restart ${after.ok}/${PAIRS} random pairs still ping by name`);
      for (const f of after.failures) notes.push(`${where}: failed pair after the restart ${f}`);
    } finally {
      agent.destroy();
    }
  }
  const rm = await removeAll(sb, ids);
  notes.push(`${where}: removing all ${n} (4 clients, force) took ${(rm / 1000).toFixed(1)} s`);
  return { rows, notes, each };
}

export async function main(n: number): Promise<Row[]> {
  const count = Math.min(n, 1000);
  const sb = await startSandbox(undefined, { prefix: 'bench' });
  try {
    await sb.docker(['network', 'create', '--subnet', '10.80.0.0/16', 'scalenet']);
    const user = await phase(sb, count, 'scalenet', 'u', 'user network', true);
    const bridge = await phase(sb, count, 'bridge', 'b', 'default bridge', false);
    const rows = [...user.rows, ...bridge.rows];
    const notes = [...user.notes, ...bridge.notes];
    process.stdout.write(`scale: ${count} containers (sandbox ${sb.name})\n${formatTable(rows)}\n${notes.join('\n')}\n`);
    await writeResults('scale', rows, {
      notes,
      series: [
        { name: 'api create+start, user network', xLabel: 'container number', yLabel: 'ms', points: user.each.map((ms, i) => [i + 1, Math.round(ms * 10) / 10]) },
        { name: 'api create+start, default bridge', xLabel: 'container number', yLabel: 'ms', points: bridge.each.map((ms, i) => [i + 1, Math.round(ms * 10) / 10]) },
      ],
    });
    return rows;
  } finally {
    await sb.down();
  }
}

runIfMain(import.meta.url, 'scale', 1000, main);
