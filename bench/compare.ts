/**
 * Benchmark: the issue's speed table, before against after. Two sandboxes side by side, one whose
 * daemon is another build ("before", $BENCH_BEFORE_ENTRY) and one running this build ("after"); the
 * same docker CLI commands go to both, alternating command by command (the side that goes first
 * flips every round), so a load swing on the shared machine hits both. Per row: medians of N rounds,
 * after/before, and the estimated ratio to Docker 20.10 (after/before × the issue's redes/Docker
 * ratio, measured on the build of 9a11e1a), against the issue's target.
 *
 * Rows: network create + rm; `run -d` on a user network; network connect + disconnect of a running
 * container; `run --rm -p 18080:80 busybox true`; CLI spawn → first ping of a peer by name ok; `run
 * -d` with 100 published ports; 30 containers `run -d` one after another on one network (total, and
 * the median cost of containers 21-30 over that of 1-10). Two reference measures say where the CLI
 * rows' time goes: a docker process that sends no request, and connect + disconnect through the API.
 *
 * Use: make the "before" build once (the lead reuses it):
 *   git -C /work/main worktree add /work/wt/before9a 9a11e1a
 *   cp -a /work/main/node_modules /work/wt/before9a/ && (cd /work/wt/before9a && npm run build)
 * then `BENCH_BEFORE_ENTRY=/work/wt/before9a/dist/src/cli/redesd.js node dist/bench/compare.js [N]`
 * (N rounds, default $BENCH_N or 7; `npm run bench -- compare` runs it too). $BENCH_ONLY=word,word keeps
 * the rows whose names contain a word (profiling one row); $BENCH_LOG_LEVEL=debug starts both
 * daemons at that level (their "start phases" lines; the sandbox logs are read before they go away:
 * set $BENCH_KEEP_LOGS=DIR to copy both redesd.log files there). Writes bench/results/compare.json
 * and bench/results/compare.md.
 *
 * Beware: without $BENCH_BEFORE_ENTRY it refuses to run (a table of one side says nothing). The before
 * sandbox is made and removed by that checkout's own bin/redes (an older daemon refuses flags today's
 * sandbox CLI passes), so its sandbox is the one that build had. Times are
 * CLI wall times: each docker process costs ~40 ms of the figures on both sides. One warm-up round
 * (the 30-container row excepted) is not counted.
 */
import { access, copyFile, mkdir, writeFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { assertNothingLeft, cmd, makeSandbox, randomSandboxName, startSandbox, type Sandbox } from '../test/helpers/sandbox.js';
import { apiRequest, keepAliveAgent } from '../test/helpers/engine-api.js';
import { firstPingByName } from './dns.js';
import { median, runD, runIfMain, time, type Row } from './lib.js';
import { RESULTS_DIR, writeResults } from './results-file.js';

const CHAIN = 30;

/** One row of the table: its redes/Docker ratio at 9a11e1a and the target for the ratio. */
interface Spec {
  name: string;
  docker: number;
  target: number;
  /** One timed sample on one side; `i` is the round (names stay unique). */
  run(sb: Sandbox, i: number): Promise<number>;
}

async function runRm(sb: Sandbox, args: readonly string[]): Promise<number> {
  let id = '';
  const ms = await time(async () => (id = await runD(sb, args, 60_000)));
  await sb.docker(['rm', '-f', id]);
  return ms;
}

const SPECS: Spec[] = [
  {
    name: 'network create + rm',
    docker: 0.33,
    target: 0.25,
    run: (sb, i) => time(async () => {
      await sb.docker(['network', 'create', `cmp${i}`]);
      await sb.docker(['network', 'rm', `cmp${i}`]);
    }),
  },
  { name: 'run -d on a user network', docker: 0.35, target: 0.3, run: (sb) => runRm(sb, ['--network', 'cmpnet']) },
  {
    name: 'network connect + disconnect',
    docker: 0.78,
    target: 0.3,
    run: (sb) => time(async () => {
      await sb.docker(['network', 'connect', 'cmpnet2', 'still']);
      await sb.docker(['network', 'disconnect', 'cmpnet2', 'still']);
    }),
  },
  {
    name: 'run --rm -p 18080:80 busybox true',
    docker: 0.51,
    target: 0.35,
    run: (sb) => time(async () => void (await sb.docker(['run', '--rm', '-p', '18080:80', 'busybox', 'true']))),
  },
  { name: 'first ping of a peer by name', docker: 0.44, target: 0.35, run: (sb) => firstPingByName(sb, 'cmpnet', 'target') },
  { name: 'one container with 100 published ports', docker: 0.07, target: 0.05, run: (sb) => runRm(sb, ['-p', '20000-20099:20000-20099']) },
];
/**
 * Not rows of the issue: where the CLI rows' time goes. A docker process that sends no request is the
 * floor every CLI row pays per invocation (the connect row pays it twice); the same connect and
 * disconnect through the API on one kept-alive connection is the engine's own share.
 */
interface Reference {
  name: string;
  run(sb: Sandbox): Promise<number>;
}

async function apiConnectDisconnect(sb: Sandbox): Promise<number> {
  const agent = keepAliveAgent();
  try {
    await apiRequest(sb.socket, 'GET', '/_ping', { agent }); // the connection, outside the timing
    return await time(async () => {
      for (const op of ['connect', 'disconnect']) {
        const r = await apiRequest(sb.socket, 'POST', `/v1.50/networks/cmpnet2/${op}`, { agent, body: { Container: 'still' } });
        if (r.status !== 200) throw new Error(`${op}: ${r.status} ${r.body}`);
      }
    });
  } finally {
    agent.destroy();
  }
}

const REFERENCES: Reference[] = [
  { name: 'docker CLI alone (`docker --version`, no request)', run: (sb) => time(async () => void (await sb.docker(['--version']))) },
  { name: 'network connect + disconnect through the API (one kept-alive connection)', run: apiConnectDisconnect },
];

const CHAIN_SPEC = { name: `${CHAIN} containers one after another`, docker: 0.33, target: 0.25 };
const SLOPE_TARGET = 1.1;

async function prepare(sb: Sandbox): Promise<void> {
  await sb.docker(['network', 'create', '--subnet', '10.78.0.0/16', 'cmpnet']);
  await sb.docker(['network', 'create', 'cmpnet2']);
  await sb.docker(['network', 'create', '--subnet', '10.79.0.0/16', 'cmpnet30']);
  await runD(sb, ['--name', 'target', '--network', 'cmpnet'], 60_000);
  await runD(sb, ['--name', 'still'], 60_000);
}

/** `fn` on both sides, the side that goes first set by `flip`; returns [before ms, after ms]. */
async function pair(sides: readonly [Sandbox, Sandbox], flip: boolean, fn: (sb: Sandbox) => Promise<number>): Promise<[number, number]> {
  const [b, a] = sides;
  if (flip) {
    const ta = await fn(a);
    return [await fn(b), ta];
  }
  const tb = await fn(b);
  return [tb, await fn(a)];
}

/** CHAIN containers on cmpnet30 per side, alternating; returns each side's per-container times. */
async function chain(sides: readonly [Sandbox, Sandbox], flip: boolean): Promise<[number[], number[]]> {
  const ids: [string[], string[]] = [[], []];
  const each: [number[], number[]] = [[], []];
  for (let k = 0; k < CHAIN; k++) {
    const [tb, ta] = await pair(sides, flip !== (k % 2 === 1), async (sb) => {
      const side = sb === sides[0] ? 0 : 1;
      return time(async () => ids[side].push(await runD(sb, ['--network', 'cmpnet30'], 60_000)));
    });
    each[0].push(tb);
    each[1].push(ta);
  }
  await Promise.all(sides.map((sb, s) => sb.docker(['rm', '-f', ...ids[s as 0 | 1]], { timeoutMs: 120_000 })));
  return each;
}

interface Line {
  name: string;
  before: number;
  after: number;
  docker?: number;
  target: number;
  ratioOnly?: boolean;
}

function markdown(lines: readonly Line[], refs: readonly Line[], meta: string[]): string {
  const f = (x: number): string => (x >= 10 ? String(Math.round(x)) : x.toFixed(2));
  const out = ['# Before/after: the issue\'s speed table', '', ...meta.map((m) => `- ${m}`), ''];
  out.push('| row | before ms | after ms | after/before | est. ratio to Docker | target |', '|---|---:|---:|---:|---:|---|');
  for (const l of lines) {
    if (l.ratioOnly) {
      const met = l.after <= l.target ? 'met' : 'MISSED';
      out.push(`| ${l.name} | ${f(l.before)} | ${f(l.after)} | | | ≤${l.target} ${met} |`);
      continue;
    }
    const ab = l.after / l.before;
    const est = ab * (l.docker ?? NaN);
    const met = est <= l.target ? 'met' : 'MISSED';
    out.push(`| ${l.name} | ${f(l.before)} | ${f(l.after)} | ${ab.toFixed(2)} | ${est.toFixed(3)} | ≤${l.target} ${met} |`);
  }
  if (refs.length) {
    out.push('', 'Where the CLI rows\' time goes (same rounds, same alternation; not rows of the issue):', '');
    out.push('| measure | before ms | after ms |', '|---|---:|---:|');
    for (const l of refs) out.push(`| ${l.name} | ${f(l.before)} | ${f(l.after)} |`);
  }
  return `${out.join('\n')}\n`;
}

/**
 * The before side: a sandbox made and removed by the before build's own `bin/redes` (an older daemon
 * refuses flags today's sandbox CLI passes it), driven with today's docker helpers.
 */
async function startBefore(entry: string, level: string | undefined): Promise<Sandbox> {
  const bin = join(resolve(entry, '..', '..', '..', '..'), 'bin', 'redes');
  await access(bin).catch(() => {
    throw new Error(`no ${bin}: BENCH_BEFORE_ENTRY must be <checkout>/dist/src/cli/redesd.js of a built checkout`);
  });
  const name = randomSandboxName('cmpb');
  const sb = makeSandbox(name);
  const down = async (): Promise<void> => {
    await cmd([bin, 'sandbox', 'down', name], { timeoutMs: 60_000 });
    await assertNothingLeft(name);
  };
  const up = await cmd([bin, 'sandbox', 'up', '--name', name, ...(level ? ['--log-level', level] : [])], { allowFail: true, timeoutMs: 60_000 });
  if (up.code !== 0) {
    await down().catch(() => undefined);
    throw new Error(`before sandbox ${name}: ${up.stderr.trim()}`);
  }
  return { ...sb, down, [Symbol.asyncDispose]: down };
}

/** One table line in words, for the results file's notes (the report renders notes as a list). */
function noteOf(l: Line): string {
  if (l.ratioOnly) return `${l.name}: before ${l.before.toFixed(2)}, after ${l.after.toFixed(2)} (target ≤${l.target})`;
  const ab = l.after / l.before;
  const est = ab * (l.docker ?? NaN);
  return `${l.name}: after/before ${ab.toFixed(2)}, est. ratio to Docker ${est.toFixed(3)} (target ≤${l.target}: ${est <= l.target ? 'met' : 'MISSED'})`;
}

function wanted(name: string): boolean {
  const only = process.env.BENCH_ONLY?.split(',').filter(Boolean);
  return !only?.length || only.some((w) => name.includes(w));
}

export async function main(rounds: number): Promise<Row[]> {
  const beforeEntry = process.env.BENCH_BEFORE_ENTRY;
  if (!beforeEntry) throw new Error('set BENCH_BEFORE_ENTRY to the before build\'s dist/src/cli/redesd.js (see the header of bench/compare.ts)');
  const level = process.env.BENCH_LOG_LEVEL;
  const daemonArgs = level ? ['--log-level', level] : [];
  const loads: string[] = [loadavg()[0]?.toFixed(1) ?? '?'];
  const started = new Date();
  const before = await startBefore(beforeEntry, level);
  let after: Sandbox | undefined;
  try {
    after = await startSandbox(undefined, { prefix: 'cmpa', daemonArgs });
    const sides = [before, after] as const;
    await Promise.all(sides.map(prepare));
    const specs = SPECS.filter((s) => wanted(s.name));
    const refs = REFERENCES.filter((r) => wanted(r.name));
    const samples = new Map([...specs, ...refs].map((s) => [s.name, [[], []] as [number[], number[]]]));
    for (let i = 0; i < rounds + 1; i++) {
      const flip = i % 2 === 1;
      for (const s of specs) {
        const [tb, ta] = await pair(sides, flip, (sb) => s.run(sb, i));
        if (i === 0) continue; // warm-up
        samples.get(s.name)?.[0].push(tb);
        samples.get(s.name)?.[1].push(ta);
      }
      for (const r of refs) {
        const [tb, ta] = await pair(sides, flip, (sb) => r.run(sb));
        if (i === 0) continue;
        samples.get(r.name)?.[0].push(tb);
        samples.get(r.name)?.[1].push(ta);
      }
      loads.push(loadavg()[0]?.toFixed(1) ?? '?');
      process.stdout.write(`round ${i}${i === 0 ? ' (warm-up)' : ''} done, load ${loads.at(-1)}\n`);
    }
    const chainTotals: [number[], number[]] = [[], []];
    const slopes: [number[], number[]] = [[], []];
    if (wanted(CHAIN_SPEC.name)) {
      for (let i = 0; i < rounds; i++) {
        const each = await chain(sides, i % 2 === 1);
        for (const s of [0, 1] as const) {
          chainTotals[s].push(each[s].reduce((x, y) => x + y, 0));
          slopes[s].push(median(each[s].slice(-10)) / median(each[s].slice(0, 10)));
        }
        loads.push(loadavg()[0]?.toFixed(1) ?? '?');
        process.stdout.write(`chain ${i + 1}: before ${Math.round(chainTotals[0].at(-1) ?? 0)} ms, after ${Math.round(chainTotals[1].at(-1) ?? 0)} ms, load ${loads.at(-1)}\n`);
      }
    }
    const lines: Line[] = specs.map((s) => {
      const [b, a] = samples.get(s.name) ?? [[], []];
      return { name: s.name, before: median(b), after: median(a), docker: s.docker, target: s.target };
    });
    const refLines: Line[] = refs.map((r) => {
      const [b, a] = samples.get(r.name) ?? [[], []];
      return { name: r.name, before: median(b), after: median(a), target: NaN };
    });
    const rows: Row[] = [...specs, ...refs].flatMap((s) => {
      const [b, a] = samples.get(s.name) ?? [[], []];
      return [{ op: `${s.name}, before`, samples: b }, { op: `${s.name}, after`, samples: a }];
    });
    if (chainTotals[0].length) {
      lines.push({ name: CHAIN_SPEC.name, before: median(chainTotals[0]), after: median(chainTotals[1]), docker: CHAIN_SPEC.docker, target: CHAIN_SPEC.target });
      lines.push({ name: 'cost containers 21–30 / 1–10', before: median(slopes[0]), after: median(slopes[1]), target: SLOPE_TARGET, ratioOnly: true });
      rows.push({ op: `${CHAIN_SPEC.name}, before`, samples: chainTotals[0] }, { op: `${CHAIN_SPEC.name}, after`, samples: chainTotals[1] });
    }
    const meta = [
      `${started.toISOString()} – ${new Date().toISOString()}, medians of ${rounds} rounds (one warm-up round more for all but the ${CHAIN}-container row), load average ${loads.join(' → ')}`,
      `before: ${beforeEntry}; after: this build. Sandboxes ${before.name} (before) and ${after.name} (after), commands alternating, the first side flipping every round`,
      `est. ratio to Docker = after/before × the issue's redes/Docker ratio (create+rm 0.33, run -d 0.35, connect 0.78, run --rm -p 0.51, ping 0.44, 100 ports 0.07, ${CHAIN} containers 0.33)`,
      ...(level ? [`daemons at log level ${level}`] : []),
    ];
    const md = markdown(lines, refLines, meta);
    process.stdout.write(`\n${md}`);
    const refNotes = refLines.map((l) => `${l.name}: before ${l.before.toFixed(1)} ms, after ${l.after.toFixed(1)} ms`);
    await writeResults('compare', rows, { notes: [...meta, ...lines.map(noteOf), ...refNotes] });
    await writeFile(join(RESULTS_DIR, 'compare.md'), md);
    const keep = process.env.BENCH_KEEP_LOGS;
    if (keep) {
      await mkdir(keep, { recursive: true });
      for (const sb of sides) await copyFile(`/run/redes/${sb.name}/redesd.log`, join(keep, `${sb === before ? 'before' : 'after'}.log`));
    }
    return rows;
  } finally {
    const downs = await Promise.allSettled([before.down(), after?.down()]);
    for (const d of downs) if (d.status === 'rejected') process.stderr.write(`compare: sandbox down: ${String(d.reason)}\n`);
  }
}

runIfMain(import.meta.url, 'compare', 7, main);
