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
import { startSandbox } from '../test/helpers/sandbox.js';
import { formatTable, runD, runIfMain, time, type Row } from './lib.js';
import { writeResults } from './results-file.js';


function publish(first: number, count: number): string[] {
  return count === 1 ? ['-p', `${first}:${first}`] : ['-p', `${first}-${first + count - 1}:${first}-${first + count - 1}`];
}


export async function main(n: number): Promise<Row[]> {
  const sb = await startSandbox(undefined, { prefix: 'bench' });
  try {
    const rows: Row[] = [];
    await sb.docker(['rm', '-f', await runD(sb, [], 120_000)]); // warm-up
    for (const count of [0, 1, 10, 100, 1000]) {
      const samples: number[] = [];
      for (let i = 0; i < n; i++) {
        let id = '';
        samples.push(await time(async () => (id = await runD(sb, count ? publish(20000, count) : [], 120_000))));
        await sb.docker(['rm', '-f', id]);
      }
      rows.push({ op: `cli run -d, ${count} published ports`, samples });
    }
    const big = await runD(sb, publish(20000, 1000), 120_000);
    const marginal: number[] = [];
    for (let i = 0; i < n; i++) {
      let id = '';
      marginal.push(await time(async () => (id = await runD(sb, publish(40000, 1), 120_000))));
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
    await writeResults('ports', rows);
    return rows;
  } finally {
    await sb.down();
  }
}

runIfMain(import.meta.url, 'ports', 5, main);
