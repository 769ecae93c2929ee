/**
 * Benchmark: the embedded DNS, measured from inside a container's namespace: latency (p50/p99, one
 * query in flight) and throughput (queries per second, 64 in flight) for a local name and for a
 * name forwarded to the sandbox world's DNS; then the time from `docker run -d` of a new container
 * until a peer resolves its name (a poller in the peer asks every millisecond), and the whole
 * `docker run --rm ... ping -c 1 <peer name>` as the CLI user sees it, and the first successful ping
 * of a peer by name from a fresh container, timed from the CLI's spawn until it prints "ok" (≥ 10 rounds).
 *
 * Use: `node dist/bench/dns.js [rounds]` (default $BENCH_N or 10); `npm run bench` runs it with the
 * others. Runs in its own sandbox `bench<6 random>`, removed at the end.
 *
 * Beware: the load generator is a Node process on the same 2 cores as the daemon, so the throughput
 * figure is a floor. Targets (issue 5): local p99 < 2 ms, ≥ 20 000 queries/s, first ping by name
 * within 150 ms of the CLI start.
 */
import { spawn } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { startSandbox, type Sandbox } from '../test/helpers/sandbox.js';
import { containerNetns } from '../test/helpers/containers.js';
import { DOCKER_BIN } from '../test/helpers/sandbox.js';
import { dnsLoad, dnsWaitFor, type LoadResult } from '../test/helpers/dns-probe.js';
import { formatTable, runD, runIfMain, type Row } from './lib.js';
import { writeResults } from './results-file.js';


function loadLine(what: string, r: LoadResult): string {
  return `${what.padEnd(34)} ${String(Math.round(r.qps)).padStart(7)} q/s  p50 ${r.p50.toFixed(3)} ms  p99 ${r.p99.toFixed(3)} ms  (${r.count} answers, ${r.failures} failed)`;
}

/**
 * Milliseconds from spawning `docker run --rm ... ping -c1 <peer>` until the container prints "ok" on
 * the CLI's stdout (read as it streams, not at exit); resolves after the CLI has exited, so rounds do
 * not overlap. The peer goes in as `$1` of a constant script, never pasted into it.
 */
export function firstPingByName(sb: Sandbox, network: string, peer: string): Promise<number> {
  const env: NodeJS.ProcessEnv = { ...process.env, DOCKER_HOST: sb.dockerHost, DOCKER_CLI_HINTS: 'false' };
  for (const k of ['DOCKER_CONTEXT', 'DOCKER_TLS_VERIFY', 'DOCKER_CERT_PATH', 'DOCKER_API_VERSION']) delete env[k];
  const script = 'ping -c1 -W1 "$1" >/dev/null && echo ok';
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(DOCKER_BIN, ['run', '--rm', '--network', network, 'busybox', 'sh', '-c', script, 'sh', peer],
      { env, stdio: ['ignore', 'pipe', 'pipe'], timeout: 20_000, killSignal: 'SIGKILL' });
    let out = '';
    let err = '';
    let okAt: number | undefined;
    child.stdout.on('data', (b: Buffer) => {
      out += b.toString('utf8');
      if (okAt === undefined && /^ok$/m.test(out)) okAt = performance.now() - t0;
    });
    child.stderr.on('data', (b: Buffer) => { err += b.toString('utf8'); });
    child.on('error', reject);
    child.on('close', (code) => {
      if (okAt !== undefined) resolve(okAt);
      else reject(new Error(`first ping of ${peer} by name failed (exit ${String(code)}): ${err || out}`));
    });
  });
}

export async function benchDns(sb: Sandbox, rounds: number): Promise<string> {
  await sb.docker(['network', 'create', 'benchdns']);
  await runD(sb, ['--name', 'target', '--network', 'benchdns']);
  const asker = containerNetns(sb, await runD(sb, ['--name', 'asker', '--network', 'benchdns']));
  const out: string[] = [];
  await dnsLoad(asker, 'target', { count: 2000, inflight: 8 }); // warm-up
  out.push(loadLine('local name, 1 in flight', await dnsLoad(asker, 'target', { count: 5000, inflight: 1 })));
  out.push(loadLine('local name, 64 in flight', await dnsLoad(asker, 'target', { count: 100_000, inflight: 64 })));
  out.push(loadLine('forwarded name, 1 in flight', await dnsLoad(asker, 'world.test', { count: 2000, inflight: 1 })));
  out.push(loadLine('forwarded name, 64 in flight', await dnsLoad(asker, 'world.test', { count: 20_000, inflight: 64 })));

  const firstAnswer: number[] = [];
  const runCli: number[] = [];
  const pingCli: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const name = `fresh${i}`;
    const { answered } = await dnsWaitFor(asker, name);
    const t0 = Date.now();
    const p0 = performance.now();
    await runD(sb, ['--name', name, '--network', 'benchdns']);
    runCli.push(performance.now() - p0);
    firstAnswer.push((await answered).resolvedAt - t0);
    const p1 = performance.now();
    const r = await sb.docker(['run', '--rm', '--network', 'benchdns', 'busybox', 'ping', '-c', '1', '-W', '1', name], { allowFail: true });
    if (r.code !== 0) throw new Error(`ping by name failed: ${r.stderr || r.stdout}`);
    pingCli.push(performance.now() - p1);
  }
  const firstPing: number[] = [];
  await firstPingByName(sb, 'benchdns', 'target'); // warm-up
  for (let i = 0; i < Math.max(rounds, 10); i++) firstPing.push(await firstPingByName(sb, 'benchdns', 'target'));
  const rows: Row[] = [
    { op: 'docker run -d → peer resolves it', samples: firstAnswer },
    { op: 'docker run -d (CLI returns)', samples: runCli },
    { op: 'docker run --rm ping -c1 <name>', samples: pingCli },
    { op: 'CLI spawn → first ping by name ok (target 150)', samples: firstPing },
  ];
  await writeResults('dns', rows, { notes: out });
  return `${out.join('\n')}\n\n${formatTable(rows)}`;
}

async function main(rounds: number): Promise<void> {
  const sb = await startSandbox(undefined, { prefix: 'bench' });
  try {
    process.stdout.write(`${await benchDns(sb, rounds)}\n`);
  } finally {
    await sb.down();
  }
}

runIfMain(import.meta.url, 'dns', 10, main);
