/**
 * Benchmark: published ports. `docker run -d` with 1, 10, 100 and 1000 published ports (each a
 * range `-p A-B:A-B`), then one more single-port container while 1000 ports are already published
 * (the marginal cost must stay flat: a port change is a map-element delta, not a rule rewrite), and
 * the nft transaction itself for adding 100 ports as elements, timed in the sandbox host.
 *
 * Use: `node dist/bench/ports.js [n]` (rounds, default $BENCH_N or 5); `npm run bench` runs it with the
 * others. Runs in its own sandbox `bench<6 random>`, removed at the end.
 *
 * Beware: the `nft` row includes spawning nft (about 3 ms here); the daemon pays the same.
 */
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { startSandbox, type Sandbox } from '../test/helpers/sandbox.js';
import { formatTable, type Row } from './networks.js';

async function time(fn: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}

function publish(first: number, count: number): string[] {
  return count === 1 ? ['-p', `${first}:${first}`] : ['-p', `${first}-${first + count - 1}:${first}-${first + count - 1}`];
}

async function runD(sb: Sandbox, args: readonly string[]): Promise<string> {
  const id = (await sb.docker(['run', '-d', ...args, 'busybox', 'sleep', '3600'], { timeoutMs: 120_000 })).stdout.trim();
  if (!/^[0-9a-f]{64}$/.test(id)) throw new Error(`docker run -d printed ${JSON.stringify(id)}`);
  return id;
}

export async function main(n: number): Promise<Row[]> {
  const sb = await startSandbox(undefined, { prefix: 'bench' });
  try {
    const rows: Row[] = [];
    await sb.docker(['rm', '-f', await runD(sb, [])]); // warm-up
    for (const count of [0, 1, 10, 100, 1000]) {
      const samples: number[] = [];
      for (let i = 0; i < n; i++) {
        let id = '';
        samples.push(await time(async () => (id = await runD(sb, count ? publish(20000, count) : []))));
        await sb.docker(['rm', '-f', id]);
      }
      rows.push({ op: `cli run -d, ${count} published ports`, samples });
    }
    const big = await runD(sb, publish(20000, 1000));
    const marginal: number[] = [];
    for (let i = 0; i < n; i++) {
      let id = '';
      marginal.push(await time(async () => (id = await runD(sb, publish(40000, 1)))));
      await sb.docker(['rm', '-f', id]);
    }
    rows.push({ op: 'cli run -d, 1 port, 1000 already published', samples: marginal });
    await sb.docker(['rm', '-f', big]);
    // The transaction alone: 100 DNAT elements in a scratch table of the sandbox host.
    const decl = 'table inet benchscratch {\nmap pubany4 {\ntype inet_proto . inet_service : ipv4_addr . inet_service\n}\n}\n';
    await sb.exec(['nft', '-f', '-'], { input: decl });
    const nft: number[] = [];
    for (let i = 0; i < n; i++) {
      const els = Array.from({ length: 100 }, (_, k) => `tcp . ${10000 + i * 100 + k} : 172.17.0.2 . ${k + 1}`);
      nft.push(await time(() => sb.exec(['nft', '-f', '-'], { input: `add element inet benchscratch pubany4 { ${els.join(', ')} }\n` })));
    }
    rows.push({ op: 'nft add 100 port elements (one transaction)', samples: nft });
    await sb.exec(['nft', 'delete', 'table', 'inet', 'benchscratch']);
    process.stdout.write(`ports: ${n} rounds each (sandbox ${sb.name})\n${formatTable(rows)}\n`);
    return rows;
  } finally {
    await sb.down();
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const n = Number(process.argv[2] ?? process.env.BENCH_N ?? 5);
  if (!Number.isInteger(n) || n < 1) {
    process.stderr.write(`bench ports: n must be a whole number ≥ 1\n`);
    process.exit(2);
  }
  main(n).catch((e: unknown) => {
    process.stderr.write(`bench ports: ${(e as Error).message}\n`);
    process.exit(1);
  });
}
