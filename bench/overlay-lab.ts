/**
 * Benchmark: how fast the cluster's state reaches the other engines, end to end, in a lab of three
 * engines (swarm manager, manager, worker; etcd with TLS):
 * - `POST /networks/create` of an overlay network on host 1 until `GET /networks/<name>` answers on
 *   hosts 2 and 3 (target < 100 ms), and the create call alone;
 * - `docker run -d --net NET` on host 1 (CLI exit) until host 2's embedded DNS answers the new
 *   container's name to a container there (target < 200 ms), and until host 2's VXLAN device holds
 *   the new container's FDB entry (the data plane is programmed).
 *
 * Use: `node dist/bench/overlay-lab.js [rounds]` (default $BENCH_N or 5). Runs in its own lab,
 * removed at the end.
 *
 * Beware: host 2's watchers are processes of their own (DNS queries every 2 ms from a container's
 * namespace, `bridge monitor fdb`), timed by the wall clock; the run's time includes the CLI's. 2 cores shared by three daemons,
 * three etcd members and whatever else runs: compare rounds of one run, state the load.
 */
import { spawn } from 'node:child_process';
import http from 'node:http';
import { loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { startLab, type Lab } from '../test/helpers/lab.js';
import { formatTable, runIfMain, type Row } from './lib.js';
import { writeResults } from './results-file.js';

/** One API call on host i's socket; resolves with the status code and body. */
function api(lab: Lab, i: number, method: string, path: string, body?: unknown): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? undefined : JSON.stringify(body);
    const req = http.request(
      { socketPath: `/run/redes/${lab.name}${i}/docker.sock`, method, path: `/v1.50${path}`, headers: data ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) } : {} },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
      },
    );
    req.on('error', reject);
    req.end(data);
  });
}

async function until(what: string, ok: () => Promise<boolean>, limitMs = 30_000): Promise<number> {
  const t0 = performance.now();
  while (!(await ok())) {
    if (performance.now() - t0 > limitMs) throw new Error(`${what}: not within ${limitMs} ms`);
  }
  return performance.now();
}

/** Asks 127.0.0.11 for argv[1] every 2 ms; prints `ready`, then Date.now() at the first answer with a record. */
const DNS_POLLER = `
const dgram = require('node:dgram');
const name = process.argv[1];
const qname = Buffer.concat([...name.split('.').map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l)])), Buffer.from([0])]);
const s = dgram.createSocket('udp4');
let id = 1;
s.on('message', (m) => { if (m.length > 12 && m.readUInt16BE(6) > 0) { console.log(Date.now()); process.exit(0); } });
s.bind(0, () => { console.log('ready'); setInterval(() => { id = (id + 1) & 0xffff; s.send(Buffer.concat([Buffer.from([id >> 8, id & 255, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0]), qname, Buffer.from([0, 1, 0, 1])]), 53, '127.0.0.11'); }, 2); });
`;

/**
 * Starts a watcher process; `ready` once it printed its first line, `at` = Date.now() (or the printed
 * number) at the first later line matching `re`; the process is killed then, or after 30 s.
 */
function firstLine(argv: readonly string[], re: RegExp): { ready: Promise<void>; at: Promise<number> } {
  const child = spawn(argv[0] as string, argv.slice(1), { stdio: ['ignore', 'pipe', 'inherit'] });
  let readyFn!: () => void;
  const ready = new Promise<void>((r) => (readyFn = r));
  // `bridge monitor` prints nothing until an event: it counts as ready once spawned.
  child.once('spawn', () => setTimeout(readyFn, 300));
  const at = new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${argv.join(' ')}: nothing matching ${re} within 30 s`));
    }, 30_000);
    let buf = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      const now = Date.now();
      buf += chunk;
      const lines = buf.split('\n');
      buf = lines.pop() ?? '';
      for (const line of lines) {
        if (line === 'ready') readyFn();
        if (!re.test(line)) continue;
        clearTimeout(timer);
        child.kill('SIGKILL');
        resolve(/^\d+$/.test(line) ? Number(line) : now);
        return;
      }
    });
  });
  return { ready, at };
}

async function ok(lab: Lab, i: number, args: string[]): Promise<string> {
  return (await lab.context(i, args, { timeoutMs: 60_000 })).stdout.trim();
}

export async function benchOverlayLab(lab: Lab, rounds: number): Promise<string> {
  await ok(lab, 1, ['swarm', 'init', '--advertise-addr', lab.lanAddr(1)]);
  await ok(lab, 2, ['swarm', 'join', '--token', await ok(lab, 1, ['swarm', 'join-token', '-q', 'manager']), `${lab.lanAddr(1)}:2377`]);
  await ok(lab, 3, ['swarm', 'join', '--token', await ok(lab, 1, ['swarm', 'join-token', '-q', 'worker']), `${lab.lanAddr(1)}:2377`]);
  const rows: Record<string, number[]> = { create: [], visible: [], visibleAfter: [], runCli: [], dnsFromStart: [], dns: [], fdb: [] };
  const loads: number[] = [];
  for (let r = 0; r < rounds; r++) {
    loads.push(loadavg()[0] ?? 0);
    const name = `bov${r}`;
    const t0 = performance.now();
    const created = await api(lab, 1, 'POST', '/networks/create', { Name: name, Driver: 'overlay', Attachable: true });
    if (created.status !== 201) throw new Error(`create ${name}: ${created.status} ${created.body}`);
    const tc = performance.now();
    rows.create?.push(tc - t0);
    const seen = await Promise.all([2, 3].map((h) => until(`${name} on host ${h}`, async () => (await api(lab, h, 'GET', `/networks/${name}`)).status === 200)));
    rows.visible?.push(Math.max(...seen) - t0);
    rows.visibleAfter?.push(Math.max(...seen) - tc);
    const netId = (JSON.parse(created.body) as { Id: string }).Id;

    // A container on host 2 to ask from; watchers there (DNS queries every 2 ms from its namespace,
    // `bridge monitor fdb` on host 2) note the wall clock when the new container of host 1 shows.
    await ok(lab, 2, ['run', '-d', '--name', `probe${r}`, '--net', name, 'busybox', 'sleep', '3600']);
    const sandbox = await ok(lab, 2, ['inspect', '-f', '{{.NetworkSettings.SandboxKey}}', `probe${r}`]);
    const dns = firstLine(['nsenter', `--net=${sandbox}`, process.execPath, '-e', DNS_POLLER, `tgt${r}`], /^\d+$/);
    const fdb = firstLine(['ip', 'netns', 'exec', `${lab.name}2`, 'bridge', 'monitor', 'fdb'], new RegExp(`dev vx-${netId.slice(0, 12)} dst ${lab.lanAddr(1).replace(/\./g, '\\.')}`));
    await Promise.all([dns.ready, fdb.ready]);
    const t1 = Date.now();
    await ok(lab, 1, ['run', '-d', '--name', `tgt${r}`, '--net', name, 'busybox', 'sleep', '3600']);
    const t2 = Date.now();
    rows.runCli?.push(t2 - t1);
    const [dnsAt, fdbAt] = await Promise.all([dns.at, fdb.at]);
    rows.dnsFromStart?.push(dnsAt - t1);
    rows.dns?.push(dnsAt - t2);
    rows.fdb?.push(fdbAt - t2);
    await ok(lab, 1, ['rm', '-f', `tgt${r}`]);
    await ok(lab, 2, ['rm', '-f', `probe${r}`]);
    await sleep(200);
  }
  const table: Row[] = [
    { op: 'POST /networks/create (overlay, host 1)', samples: rows.create ?? [] },
    { op: 'create sent → listed on hosts 2 and 3', samples: rows.visible ?? [] },
    { op: 'create returned → listed on hosts 2 and 3', samples: rows.visibleAfter ?? [] },
    { op: 'docker run -d --net overlay (CLI, host 1)', samples: rows.runCli ?? [] },
    { op: 'run started → name resolves on host 2', samples: rows.dnsFromStart ?? [] },
    { op: 'run returned → name resolves on host 2 (<0: before)', samples: rows.dns ?? [] },
    { op: 'run returned → FDB entry on host 2 (<0: before)', samples: rows.fdb ?? [] },
  ];
  const load = `load average at each round: ${loads.map((l) => l.toFixed(1)).join(' ')}`;
  await writeResults('overlay-lab', table, { notes: ['3-engine lab (2 managers, 1 worker), etcd with TLS', load] });
  return `${formatTable(table)}\n${load}`;
}

async function main(rounds: number): Promise<void> {
  const lab = await startLab(undefined, { hosts: 3 });
  try {
    process.stdout.write(`${await benchOverlayLab(lab, rounds)}\n`);
  } finally {
    await lab.down();
  }
}

runIfMain(import.meta.url, 'overlay-lab', 5, main);
