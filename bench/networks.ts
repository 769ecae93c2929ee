/**
 * Benchmark: network create and rm, through the stock docker CLI (a process per command, as a user
 * pays it) and through the Engine API directly (node http on the unix socket, one kept-alive
 * connection: the daemon's own cost). Each create makes a bridge and re-applies the nft table.
 *
 * Use: `node dist/bench/networks.js [n]` (n ≥ 1, default $BENCH_N or 50); `npm run bench` runs it
 * with the others. Runs in its own sandbox `bench<6 random>`, removed at the end.
 *
 * Beware: figures depend on the machine's load; the first few rounds (warm-up) are not counted.
 */
import { startSandbox, type Sandbox } from '../test/helpers/sandbox.js';
import { apiRequest, keepAliveAgent } from '../test/helpers/engine-api.js';
import { formatTable, runIfMain, time, type Row } from './lib.js';
import { writeResults } from './results-file.js';

const WARMUP = 3;





/** `rounds` of create then rm; returns the create, rm and pair times of the counted rounds. */
async function loop(rounds: number, create: (name: string) => Promise<string>, rm: (ref: string) => Promise<void>): Promise<[number[], number[], number[]]> {
  const c: number[] = [];
  const r: number[] = [];
  const both: number[] = [];
  for (let i = 0; i < WARMUP + rounds; i++) {
    let ref = '';
    const tc = await time(async () => {
      ref = await create(`benchnet${i}`);
    });
    const tr = await time(() => rm(ref));
    if (i >= WARMUP) {
      c.push(tc);
      r.push(tr);
      both.push(tc + tr);
    }
  }
  return [c, r, both];
}

async function viaCli(sb: Sandbox, n: number): Promise<Row[]> {
  const [c, r, both] = await loop(
    n,
    async (name) => (await sb.docker(['network', 'create', name])).stdout.trim(),
    async (id) => void (await sb.docker(['network', 'rm', id])),
  );
  return [
    { op: 'cli network create', samples: c },
    { op: 'cli network rm', samples: r },
    { op: 'cli create + rm', samples: both },
  ];
}

async function viaApi(sb: Sandbox, n: number): Promise<Row[]> {
  const agent = keepAliveAgent();
  try {
    const [c, r, both] = await loop(
      n,
      async (name) => {
        const res = await apiRequest(sb.socket, 'POST', '/v1.50/networks/create', { body: { Name: name }, agent });
        if (res.status !== 201) throw new Error(`create ${name}: ${res.status} ${res.body}`);
        return res.json<{ Id: string }>().Id;
      },
      async (id) => {
        const res = await apiRequest(sb.socket, 'DELETE', `/v1.50/networks/${id}`, { agent });
        if (res.status !== 204) throw new Error(`rm ${id}: ${res.status} ${res.body}`);
      },
    );
    return [
      { op: 'api network create', samples: c },
      { op: 'api network rm', samples: r },
      { op: 'api create + rm', samples: both },
    ];
  } finally {
    agent.destroy();
  }
}

export async function main(n: number): Promise<Row[]> {
  const sb = await startSandbox(undefined, { prefix: 'bench' });
  try {
    const rows = [...(await viaCli(sb, n)), ...(await viaApi(sb, n))];
    process.stdout.write(`networks: create and rm of a bridge network, ${n} rounds each after ${WARMUP} warm-up (sandbox ${sb.name})\n`);
    process.stdout.write(`${formatTable(rows)}\n`);
    await writeResults('networks', rows);
    return rows;
  } finally {
    await sb.down();
  }
}

runIfMain(import.meta.url, 'networks', 50, main);
