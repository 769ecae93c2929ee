/**
 * Benchmark: `docker build` of a 10-step Dockerfile (FROM busybox, ENV, ARG, WORKDIR, COPY of a
 * small context, two RUNs, LABEL, EXPOSE, CMD) through the stock CLI (classic builder): the first
 * build once, then cached rebuilds, each checked to take every step from the cache.
 *
 * Use: `node dist/bench/build.js [rounds]` (default $BENCH_N or 10); `npm run bench` runs it with
 * the others. Runs in its own sandbox `bench<6 random>`, removed at the end.
 *
 * Beware: times include the CLI (context tar, upload) and are as noisy as the machine's load,
 * which the notes record. Target (issue 11): a cached rebuild under 1 s.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSandbox, type Sandbox } from '../test/helpers/sandbox.js';
import { formatTable, runIfMain, time, type Row } from './lib.js';
import { writeResults } from './results-file.js';

const DOCKERFILE = `FROM busybox
ENV APP=bench
ARG VERSION=1
WORKDIR /app
COPY . /app/
RUN echo "$VERSION" > /app/version && mkdir -p /data
RUN for i in 1 2 3 4 5; do echo line $i >> /app/lines; done
LABEL bench=build
EXPOSE 8080
CMD ["cat", "/app/version"]
`;

export async function benchBuild(sb: Sandbox, rounds: number): Promise<string> {
  const ctx = await mkdtemp(join(tmpdir(), 'redes-bench-build-'));
  try {
    await writeFile(join(ctx, 'Dockerfile'), DOCKERFILE);
    for (let i = 0; i < 20; i++) await writeFile(join(ctx, `file${i}.txt`), `content ${i}\n`.repeat(100));
    const build = (): Promise<string> => sb.docker(['build', '-t', 'bench:build', ctx], { timeoutMs: 120_000 }).then((r) => r.stdout);
    let first = '';
    const cold = await time(async () => (first = await build()));
    if ((first.match(/^Step \d+\/10 : /gm)?.length ?? 0) !== 10) throw new Error(`unexpected first build output:\n${first}`);
    const cached: number[] = [];
    for (let i = 0; i < rounds; i++) {
      let out = '';
      cached.push(await time(async () => (out = await build())));
      const hits = out.match(/^ ---> Using cache$/gm)?.length ?? 0;
      if (hits !== 9) throw new Error(`rebuild ${i} took ${hits} of 9 steps from the cache:\n${out}`);
    }
    const rows: Row[] = [
      { op: 'first build, 10 steps (2 RUN)', samples: [cold] },
      { op: 'cached rebuild, 10 steps (target 1000)', samples: cached },
    ];
    const notes = [`load average at the end: ${loadavg().map((x) => x.toFixed(1)).join(' ')}`];
    await writeResults('build', rows, { notes });
    return `${formatTable(rows)}\n${notes.join('\n')}`;
  } finally {
    await rm(ctx, { recursive: true, force: true });
  }
}

async function main(rounds: number): Promise<void> {
  const sb = await startSandbox(undefined, { prefix: 'bench' });
  try {
    process.stdout.write(`${await benchBuild(sb, rounds)}\n`);
  } finally {
    await sb.down();
  }
}

runIfMain(import.meta.url, 'build', 10, main);
