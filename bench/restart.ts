/**
 * Benchmark: a daemon restart with N running containers (issue "speed and scale": re-adopt 1000 in
 * < 5 s). Starts N sleepers (half on the default bridge, half on a user network), kills the daemon
 * with SIGKILL, starts it again at log level trace and times until it answers and until
 * `GET /containers/json` lists all N running. From the restarted daemon's log it reads the start
 * stages (`daemon start stage` lines: ms since the process started) and every program it spawned
 * (count and total ms per kind), so the cost that grows with N shows by name.
 *
 * Use: `node dist/bench/restart.js [N]` (or $BENCH_N; default 200); $BENCH_ROUNDS restarts (default
 * 2). With $BENCH_BEFORE_ENTRY (another build's dist/src/cli/redesd.js) the odd rounds restart that
 * daemon instead: a before/after pair on the same containers. Runs in its own sandbox
 * `rst<6 random>`, removed at the end. Writes bench/results/restart.json.
 *
 * With $BENCH_SANDBOX=NAME the rounds run on that existing sandbox instead (made by an earlier run
 * or by hand, its N containers running already; it is kept): starting 1000 containers takes 15-30
 * minutes on a loaded machine, the restarts a few seconds each.
 *
 * Beware: the daemon is started again with the sandbox's own `sandboxUp` and a 300 s limit (`redes
 * sandbox up` gives it 20 s). The containers are started two at a time (only the restart is measured).
 */
import { readFile, stat } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { sandboxUp } from '../src/sandbox/index.js';
import { makeSandbox, startSandbox, type Sandbox } from '../test/helpers/sandbox.js';
import { apiRequest, keepAliveAgent } from '../test/helpers/engine-api.js';
import { formatTable, runIfMain, type Row } from './lib.js';
import { writeResults } from './results-file.js';

async function startAll(sb: Sandbox, n: number): Promise<string[]> {
  const ids: string[] = [];
  const nets = ['bridge', 'rstnet'];
  let next = 0;
  const worker = async (): Promise<void> => {
    const agent = keepAliveAgent();
    try {
      for (let i = next++; i < n; i = next++) {
        const body = { Image: 'busybox', Cmd: ['sleep', '36000'], HostConfig: { NetworkMode: nets[i % 2] } };
        const c = await apiRequest(sb.socket, 'POST', `/v1.50/containers/create?name=r${i}`, { body, agent, timeoutMs: 120_000 });
        if (c.status !== 201) throw new Error(`create #${i}: ${c.status} ${c.body}`);
        const id = c.json<{ Id: string }>().Id;
        const s = await apiRequest(sb.socket, 'POST', `/v1.50/containers/${id}/start`, { agent, timeoutMs: 120_000 });
        if (s.status !== 204) throw new Error(`start #${i}: ${s.status} ${s.body}`);
        ids.push(id);
        if (ids.length % 100 === 0) process.stdout.write(`  ${ids.length} running (load ${loadavg()[0]?.toFixed(1)})\n`);
      }
    } finally {
      agent.destroy();
    }
  };
  await Promise.all([worker(), worker()]);
  return ids;
}

interface LogLine {
  time: number;
  msg: string;
  stage?: string;
  ms?: number;
  cmd?: string;
}

/** The daemon log's lines written since byte `from`. */
async function logSince(path: string, from: number): Promise<LogLine[]> {
  const text = (await readFile(path)).subarray(from).toString('utf8');
  const out: LogLine[] = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      out.push(JSON.parse(line) as LogLine);
    } catch {
      // a line cut by the kill
    }
  }
  return out;
}

function kind(cmd: string): string {
  const [bin = '', ...rest] = cmd.split(' ');
  const words = rest.filter((w) => /^[a-z][a-z-]*$/.test(w)).slice(0, 2);
  return [bin.split('/').pop() ?? bin, ...words].join(' ');
}

interface Round {
  answeringMs: number;
  allMs: number;
  stages: string;
  spawns: string;
}

async function restartRound(sb: Sandbox, n: number, entry: string | undefined): Promise<Round> {
  const logPath = `/run/redes/${sb.name}/redesd.log`;
  await sb.kill9Daemon();
  const from = (await stat(logPath)).size;
  const agent = keepAliveAgent();
  try {
    const t0 = performance.now();
    await sandboxUp({ name: sb.name, logLevel: 'trace', readyTimeoutMs: 300_000, ...(entry ? { entry } : {}) });
    const answeringMs = performance.now() - t0;
    let listed = 0;
    while (listed < n && performance.now() - t0 < 300_000) {
      const r = await apiRequest(sb.socket, 'GET', '/v1.50/containers/json', { agent, timeoutMs: 60_000 });
      listed = r.status === 200 ? r.json<Array<{ State: string }>>().filter((c) => c.State === 'running').length : 0;
    }
    const allMs = performance.now() - t0;
    if (listed < n) throw new Error(`only ${listed}/${n} listed running after the restart`);
    const lines = await logSince(logPath, from);
    const stages = lines.filter((l) => l.msg === 'daemon start stage').map((l) => `${l.stage} ${l.ms}`).join(', ');
    const by = new Map<string, { count: number; ms: number }>();
    for (const l of lines) {
      if (l.msg !== 'spawned' || !l.cmd) continue;
      const k = kind(l.cmd);
      const e = by.get(k) ?? { count: 0, ms: 0 };
      e.count++;
      e.ms += l.ms ?? 0;
      by.set(k, e);
    }
    const spawns = [...by.entries()].sort((a, b) => b[1].ms - a[1].ms).map(([k, e]) => `${k} ×${e.count} (${Math.round(e.ms)} ms)`).join(', ');
    return { answeringMs, allMs, stages, spawns };
  } finally {
    agent.destroy();
  }
}

export async function main(n: number): Promise<Row[]> {
  const rounds = Number(process.env.BENCH_ROUNDS ?? 2);
  const kept = process.env.BENCH_SANDBOX;
  const sb = kept ? makeSandbox(kept) : await startSandbox(undefined, { prefix: 'rst' });
  try {
    const notes: string[] = [];
    if (kept) notes.push(`on the existing sandbox ${kept} with ${n} containers running`);
    else {
      await sb.docker(['network', 'create', '--subnet', '10.82.0.0/16', 'rstnet']);
      const t0 = performance.now();
      await startAll(sb, n);
      notes.push(`${n} containers (half on the default bridge, half on a user network) started in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    }
    const before = process.env.BENCH_BEFORE_ENTRY;
    const answering: number[] = [];
    const all: number[] = [];
    const old: number[] = [];
    for (let r = 1; r <= rounds; r++) {
      const load = loadavg()[0]?.toFixed(1);
      const entry = before && r % 2 === 1 ? before : undefined;
      const round = await restartRound(sb, n, entry);
      if (entry) old.push(round.allMs);
      else {
        answering.push(round.answeringMs);
        all.push(round.allMs);
      }
      notes.push(`restart ${r}${entry ? ` with ${entry}` : ''} (load ${load}): answering after ${(round.answeringMs / 1000).toFixed(2)} s, all ${n} listed running after ${(round.allMs / 1000).toFixed(2)} s`);
      notes.push(`restart ${r} stages (ms since the process started): ${round.stages}`);
      notes.push(`restart ${r} programs spawned: ${round.spawns || 'none'}`);
      process.stdout.write(`${notes.slice(-3).join('\n')}\n`);
    }
    const ping = await sb.docker(['exec', 'r1', 'ping', '-c1', '-W3', 'r3'], { allowFail: true, timeoutMs: 60_000 });
    notes.push(`after the restarts r1 pings r3 by name: ${ping.code === 0 ? 'yes' : `no (${ping.stderr.trim() || ping.stdout.trim()})`}`);
    const rows: Row[] = [
      { op: `restart with ${n} running: daemon answering`, samples: answering },
      { op: `restart with ${n} running: all listed running`, samples: all },
      ...(old.length ? [{ op: `restart with ${n} running: all listed running, before`, samples: old }] : []),
    ];
    process.stdout.write(`restart: ${n} containers (sandbox ${sb.name})\n${formatTable(rows)}\n${notes.join('\n')}\n`);
    await writeResults('restart', rows, { notes });
    return rows;
  } finally {
    if (!kept) await sb.down();
  }
}

runIfMain(import.meta.url, 'restart', 200, main);
