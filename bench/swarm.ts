/**
 * Benchmark: swarm membership with the stock CLI in a lab of three engines: `docker swarm init`
 * (CA, keys, first etcd member), `swarm join` as a manager (certificate, etcd member added and
 * started) and as a worker (certificate, etcd client), `node ls`, then with three managers the time
 * from killing the etcd leader until a write through another manager succeeds, and `swarm leave
 * --force`. Each round ends with every host out of the swarm, so the next starts from nothing.
 *
 * Use: `node dist/bench/swarm.js [rounds]` (default $BENCH_N or 3). Runs in its own lab, removed
 * at the end.
 *
 * Beware: times are CLI spawn to exit on 2 shared cores, three daemons and up to three etcd members
 * running; openssl key generation and etcd's start dominate init and join.
 */
import { readFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { startLab, type Lab } from '../test/helpers/lab.js';
import { formatTable, runIfMain, time, type Row } from './lib.js';
import { writeResults } from './results-file.js';

async function ok(lab: Lab, i: number, args: string[]): Promise<string> {
  return (await lab.context(i, args, { timeoutMs: 60_000 })).stdout.trim();
}

export async function benchSwarm(lab: Lab, rounds: number): Promise<string> {
  const rows: Record<string, number[]> = { init: [], joinManager: [], joinWorker: [], nodeLs: [], leaderKill: [], leave: [] };
  for (let r = 0; r < rounds; r++) {
    rows.init?.push(await time(() => ok(lab, 1, ['swarm', 'init', '--advertise-addr', lab.lanAddr(1)])));
    const manager = await ok(lab, 1, ['swarm', 'join-token', '-q', 'manager']);
    const worker = await ok(lab, 1, ['swarm', 'join-token', '-q', 'worker']);
    rows.joinManager?.push(await time(() => ok(lab, 2, ['swarm', 'join', '--token', manager, `${lab.lanAddr(1)}:2377`])));
    rows.joinWorker?.push(await time(() => ok(lab, 3, ['swarm', 'join', '--token', worker, `${lab.lanAddr(1)}:2377`])));
    rows.nodeLs?.push(await time(() => ok(lab, 1, ['node', 'ls'])));
    // Three managers, then the leader's etcd dies: until a write through host 2 succeeds.
    await ok(lab, 3, ['swarm', 'leave']);
    await ok(lab, 1, ['node', 'rm', `${lab.name}-3`]);
    rows.joinManager?.push(await time(() => ok(lab, 3, ['swarm', 'join', '--token', manager, `${lab.lanAddr(1)}:2377`])));
    const pid = Number((await readFile(`/run/redes/${lab.name}1/etcd.pid`, 'utf8')).trim());
    const t0 = performance.now();
    process.kill(pid, 'SIGKILL');
    for (;;) {
      const w = await lab.context(2, ['swarm', 'join-token', '--rotate', '-q', 'worker'], { allowFail: true, timeoutMs: 30_000 });
      if (w.code === 0) break;
      if (performance.now() - t0 > 30_000) throw new Error(`no write within 30 s of the leader's death: ${w.stderr}`);
      await sleep(50);
    }
    rows.leaderKill?.push(performance.now() - t0);
    for (const i of [3, 2, 1]) rows.leave?.push(await time(() => ok(lab, i, ['swarm', 'leave', '--force'])));
  }
  const table: Row[] = [
    { op: 'docker swarm init', samples: rows.init ?? [] },
    { op: 'docker swarm join (manager)', samples: rows.joinManager ?? [] },
    { op: 'docker swarm join (worker)', samples: rows.joinWorker ?? [] },
    { op: 'docker node ls (3 nodes)', samples: rows.nodeLs ?? [] },
    { op: 'etcd leader killed → first write', samples: rows.leaderKill ?? [] },
    { op: 'docker swarm leave --force', samples: rows.leave ?? [] },
  ];
  await writeResults('swarm', table, { notes: ['3-engine lab; leader kill with 3 managers (etcd heartbeat 100 ms, election 1 s); a write = join-token --rotate on a surviving manager'] });
  return formatTable(table);
}

async function main(rounds: number): Promise<void> {
  const lab = await startLab(undefined, { hosts: 3 });
  try {
    process.stdout.write(`${await benchSwarm(lab, rounds)}\n`);
  } finally {
    await lab.down();
  }
}

runIfMain(import.meta.url, 'swarm', 3, main);
