/**
 * Benchmark: containers through the stock docker CLI (a process per command, as a user pays it) and
 * through the Engine API (the daemon's own cost): `docker run -d` until running on the default bridge
 * and on a user network, `docker run --rm busybox true` (the whole life of a container; also with
 * `-p 18080:80`, the issue's row: a published port set up and torn down around it), network
 * connect + disconnect of a running container, and 100 containers on one network (does the 100th
 * cost more than the first?).
 *
 * Use: `node dist/bench/containers.js [n]` (n ≥ 1 rounds per operation, default $BENCH_N or 20);
 * `npm run bench` runs it with the others. Runs in its own sandbox `bench<6 random>`, removed at
 * the end.
 *
 * Beware: figures depend on the machine's load; the first rounds (warm-up) are not counted. `docker
 * run -d` returns once the container is started, so its time is "until running".
 */
import { startSandbox, type Sandbox } from '../test/helpers/sandbox.js';
import { apiRequest, keepAliveAgent } from '../test/helpers/engine-api.js';
import { formatTable, median, runD, runIfMain, time, type Row } from './lib.js';
import { writeResults } from './results-file.js';

const WARMUP = 3;
const MANY = 100;




/** `docker run -d` until running, then `docker rm -f`, `rounds` times on `net` (undefined = bridge). */
async function runAndRemove(sb: Sandbox, rounds: number, net?: string): Promise<Row[]> {
  const where = net ? 'user net' : 'bridge';
  const start: number[] = [];
  const rm: number[] = [];
  for (let i = 0; i < WARMUP + rounds; i++) {
    let id = '';
    const ts = await time(async () => {
      id = await runD(sb, net ? ['--network', net] : []);
    });
    const tr = await time(() => sb.docker(['rm', '-f', id]));
    if (i >= WARMUP) {
      start.push(ts);
      rm.push(tr);
    }
  }
  return [
    { op: `cli run -d (${where})`, samples: start },
    { op: `cli rm -f (${where})`, samples: rm },
  ];
}

/** `docker run --rm [ARGS] busybox true`, `rounds` times: the whole life of a container. */
async function runRmTrue(sb: Sandbox, rounds: number, args: readonly string[] = []): Promise<Row> {
  const samples: number[] = [];
  for (let i = 0; i < WARMUP + rounds; i++) {
    const t = await time(async () => {
      const r = await sb.docker(['run', '--rm', ...args, 'busybox', 'true']);
      if (r.code !== 0) throw new Error(`docker run --rm ${args.join(' ')} busybox true exited ${r.code}: ${r.stderr}`);
    });
    if (i >= WARMUP) samples.push(t);
  }
  return { op: `cli run --rm ${args.length ? `${args.join(' ')} ` : ''}true`, samples };
}

async function connectDisconnect(sb: Sandbox, rounds: number, net: string): Promise<Row[]> {
  const id = await runD(sb, []);
  const c: number[] = [];
  const d: number[] = [];
  const both: number[] = [];
  for (let i = 0; i < WARMUP + rounds; i++) {
    const tc = await time(() => sb.docker(['network', 'connect', net, id]));
    const td = await time(() => sb.docker(['network', 'disconnect', net, id]));
    if (i >= WARMUP) {
      c.push(tc);
      d.push(td);
      both.push(tc + td);
    }
  }
  await sb.docker(['rm', '-f', id]);
  return [
    { op: 'cli network connect', samples: c },
    { op: 'cli network disconnect', samples: d },
    { op: 'cli connect + disconnect', samples: both },
  ];
}

/** The daemon alone: create + start, then delete ?force, over one kept-alive connection. */
async function viaApi(sb: Sandbox, rounds: number): Promise<Row[]> {
  const agent = keepAliveAgent();
  const up: number[] = [];
  const down: number[] = [];
  try {
    for (let i = 0; i < WARMUP + rounds; i++) {
      let id = '';
      const tu = await time(async () => {
        const r = await apiRequest(sb.socket, 'POST', '/v1.50/containers/create', { body: { Image: 'busybox', Cmd: ['sleep', '3600'] }, agent });
        if (r.status !== 201) throw new Error(`create: ${r.status} ${r.body}`);
        id = r.json<{ Id: string }>().Id;
        const s = await apiRequest(sb.socket, 'POST', `/v1.50/containers/${id}/start`, { agent });
        if (s.status !== 204) throw new Error(`start: ${s.status} ${s.body}`);
      });
      const td = await time(async () => {
        const r = await apiRequest(sb.socket, 'DELETE', `/v1.50/containers/${id}?force=1`, { agent });
        if (r.status !== 204) throw new Error(`delete: ${r.status} ${r.body}`);
      });
      if (i >= WARMUP) {
        up.push(tu);
        down.push(td);
      }
    }
  } finally {
    agent.destroy();
  }
  return [
    { op: 'api create + start', samples: up },
    { op: 'api delete ?force', samples: down },
  ];
}

interface Many {
  rows: Row[];
  each: number[];
  totalMs: number;
  rmMs: number;
}

/** MANY containers on one network, one after the other; then one `docker rm -f` of all of them. */
async function many(sb: Sandbox, net: string): Promise<Many> {
  const each: number[] = [];
  const ids: string[] = [];
  const t0 = performance.now();
  for (let i = 0; i < MANY; i++) {
    each.push(await time(async () => ids.push(await runD(sb, ['--network', net]))));
  }
  const totalMs = performance.now() - t0;
  const rmMs = await time(() => sb.docker(['rm', '-f', ...ids], { timeoutMs: 300_000 }));
  return {
    rows: [
      { op: `cli run -d #1-10 of ${MANY}`, samples: each.slice(0, 10) },
      { op: `cli run -d #${MANY - 9}-${MANY} of ${MANY}`, samples: each.slice(-10) },
    ],
    each,
    totalMs,
    rmMs,
  };
}

export async function main(n: number): Promise<Row[]> {
  const sb = await startSandbox(undefined, { prefix: 'bench' });
  try {
    const net = 'benchnet';
    await sb.docker(['network', 'create', '--subnet', '10.77.0.0/16', net]);
    await sb.docker(['network', 'create', 'benchnet2']);
    const rows = [
      ...(await runAndRemove(sb, n)),
      ...(await runAndRemove(sb, n, net)),
      await runRmTrue(sb, n),
      await runRmTrue(sb, n, ['-p', '18080:80']),
      ...(await connectDisconnect(sb, n, 'benchnet2')),
      ...(await viaApi(sb, n)),
    ];
    const m = await many(sb, net);
    rows.push(...m.rows);
    process.stdout.write(`containers: ${n} rounds each after ${WARMUP} warm-up (sandbox ${sb.name})\n`);
    process.stdout.write(`${formatTable(rows)}\n`);
    const [first, last] = m.rows.map((r) => median(r.samples));
    const summary =
      `${MANY} containers on one network: ${(m.totalMs / 1000).toFixed(2)} s in total (${(m.totalMs / MANY).toFixed(1)} ms each), ` +
      `median first ten ${first?.toFixed(1)} ms vs last ten ${last?.toFixed(1)} ms; docker rm -f of all ${(m.rmMs / 1000).toFixed(2)} s`;
    process.stdout.write(`${summary}\n`);
    await writeResults('containers', rows, {
      notes: [summary],
      series: [{ name: 'cli run -d, user network', xLabel: 'container number', yLabel: 'ms until running', points: m.each.map((ms, i) => [i + 1, Math.round(ms * 10) / 10]) }],
    });
    return rows;
  } finally {
    await sb.down();
  }
}

runIfMain(import.meta.url, 'containers', 20, main);
