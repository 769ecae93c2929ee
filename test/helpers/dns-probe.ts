/**
 * A DNS client for the embedded-DNS tests and benchmark that runs inside a container's network
 * namespace: the test process spawns this file under `nsenter --net=/run/netns/<container ns>` and
 * reads one JSON line back. Modes: one query (rcode, answers, milliseconds), or a load run (queries
 * per second, p50/p99 latency) with a fixed number of queries in flight.
 *
 * Use:
 *   const r = await dnsQuery(netns, 'web', { type: 'A' });        // { rcode, answers, ms }
 *   const b = await dnsLoad(netns, 'web', { count: 20000, inflight: 64 });
 *
 * Beware: only a container's namespace is entered (never the machine's root one); the server asked
 * is 127.0.0.11 unless `server` says otherwise. Over TCP, one connection per query.
 */
import dgram from 'node:dgram';
import net from 'node:net';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import dnsPacket from 'dns-packet';
import { run } from '../../src/kernel/run.js';

const SELF = fileURLToPath(import.meta.url);

export interface QueryResult {
  rcode: string;
  answers: string[];
  ms: number;
  tc?: boolean;
}

export interface LoadResult {
  count: number;
  qps: number;
  p50: number;
  p99: number;
  failures: number;
}

async function inNetns<T>(netns: string, args: string[], timeoutMs = 60_000): Promise<T> {
  const r = await run(['nsenter', `--net=/run/netns/${netns}`, process.execPath, SELF, ...args], { timeoutMs });
  return JSON.parse(r.stdout.trim().split('\n').pop() ?? '') as T;
}

export function dnsQuery(netns: string, name: string, opts: { type?: string; tcp?: boolean; server?: string } = {}): Promise<QueryResult> {
  return inNetns(netns, ['query', opts.server ?? '127.0.0.11', name, opts.type ?? 'A', opts.tcp ? 'tcp' : 'udp']);
}

export function dnsLoad(netns: string, name: string, opts: { count: number; inflight: number; server?: string }): Promise<LoadResult> {
  return inNetns(netns, ['load', opts.server ?? '127.0.0.11', name, String(opts.count), String(opts.inflight)], 300_000);
}

function encode(name: string, type: string, id: number): Buffer {
  return dnsPacket.encode({ type: 'query', id, flags: dnsPacket.RECURSION_DESIRED, questions: [{ type: type as 'A', name }] });
}

function describe(buf: Buffer, t0: number): QueryResult {
  const p = dnsPacket.decode(buf) as dnsPacket.DecodedPacket & { rcode?: string; flag_tc?: boolean };
  return {
    rcode: p.rcode ?? '', answers: (p.answers ?? []).map((a) => String((a as { data?: unknown }).data)), ms: performance.now() - t0,
    ...(p.flag_tc ? { tc: true } : {}),
  };
}

function queryUdp(server: string, name: string, type: string): Promise<QueryResult> {
  return new Promise((resolve, reject) => {
    const s = dgram.createSocket('udp4');
    const t0 = performance.now();
    const timer = setTimeout(() => {
      s.close();
      reject(new Error('no answer in 10 s'));
    }, 10_000);
    s.on('message', (m) => {
      clearTimeout(timer);
      s.close();
      resolve(describe(m, t0));
    });
    s.send(encode(name, type, 4242), 53, server);
  });
}

function queryTcp(server: string, name: string, type: string): Promise<QueryResult> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const c = net.connect({ host: server, port: 53 });
    let buf = Buffer.alloc(0);
    c.setTimeout(10_000, () => c.destroy(new Error('no answer in 10 s')));
    c.on('error', reject);
    c.on('connect', () => {
      const q = encode(name, type, 4243);
      const len = Buffer.alloc(2);
      len.writeUInt16BE(q.length);
      c.write(Buffer.concat([len, q]));
    });
    c.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      if (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        c.destroy();
        resolve(describe(buf.subarray(2, 2 + buf.readUInt16BE(0)), t0));
      }
    });
  });
}

/** `count` queries over one UDP socket, `inflight` outstanding at any time. */
function load(server: string, name: string, count: number, inflight: number): Promise<LoadResult> {
  return new Promise((resolve) => {
    const s = dgram.createSocket('udp4');
    const sentAt = new Map<number, number>();
    const lat: number[] = [];
    let sent = 0;
    let failures = 0;
    let nextId = 1;
    const t0 = performance.now();
    const send = (): void => {
      if (sent >= count) return;
      const id = nextId++ & 0xffff;
      sent++;
      sentAt.set(id, performance.now());
      s.send(encode(name, 'A', id), 53, server);
    };
    const finish = (): void => {
      clearInterval(sweep);
      s.close();
      const sorted = lat.sort((a, b) => a - b);
      const pct = (p: number): number => sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)] ?? NaN;
      resolve({ count: lat.length, qps: lat.length / ((performance.now() - t0) / 1000), p50: pct(0.5), p99: pct(0.99), failures });
    };
    s.on('message', (m) => {
      const id = m.readUInt16BE(0);
      const at = sentAt.get(id);
      if (at === undefined) return;
      sentAt.delete(id);
      if ((m.readUInt16BE(2) & 0xf) !== 0) failures++;
      lat.push(performance.now() - at);
      if (lat.length + failures >= count) finish();
      else send();
    });
    // A lost datagram must not stall the run: queries older than 1 s count as failures.
    const sweep = setInterval(() => {
      const now = performance.now();
      for (const [id, at] of sentAt) {
        if (now - at < 1000) continue;
        sentAt.delete(id);
        failures++;
        if (lat.length + failures >= count) return finish();
        send();
      }
    }, 200);
    for (let i = 0; i < inflight; i++) send();
  });
}

/** Asks for `name` every millisecond until it resolves; prints the wall-clock time (ms) it did. */
async function waitFor(server: string, name: string, timeoutMs: number): Promise<{ resolvedAt: number; tries: number }> {
  const s = dgram.createSocket('udp4');
  let tries = 0;
  return new Promise((resolve, reject) => {
    const stop = setTimeout(() => {
      clearInterval(tick);
      s.close();
      reject(new Error(`${name} did not resolve in ${timeoutMs} ms`));
    }, timeoutMs);
    s.on('message', (m) => {
      if ((m.readUInt16BE(2) & 0xf) !== 0 || m.readUInt16BE(6) === 0) return;
      clearTimeout(stop);
      clearInterval(tick);
      s.close();
      resolve({ resolvedAt: Date.now(), tries });
    });
    const tick = setInterval(() => {
      tries++;
      s.send(encode(name, 'A', tries & 0xffff), 53, server);
    }, 1);
    process.stdout.write('ready\n');
  });
}

/**
 * Starts `wait` mode in the namespace; resolves once it asks, with the promise of its answer (in an
 * object: a promise resolved with a promise would wait for the inner one).
 */
export async function dnsWaitFor(netns: string, name: string, timeoutMs = 10_000): Promise<{ answered: Promise<{ resolvedAt: number; tries: number }> }> {
  const { spawn } = await import('node:child_process');
  const child = spawn('nsenter', [`--net=/run/netns/${netns}`, process.execPath, SELF, 'wait', '127.0.0.11', name, String(timeoutMs)], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  return new Promise((ready, fail) => {
    child.on('error', fail);
    const result = new Promise<{ resolvedAt: number; tries: number }>((resolve, reject) => {
      child.on('close', (code) => (code === 0 ? resolve(JSON.parse(out.trim().split('\n').pop() ?? '') as { resolvedAt: number; tries: number }) : reject(new Error(`dns-probe wait exited ${code}`))));
    });
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.startsWith('ready\n')) ready({ answered: result });
    });
  });
}

async function main(argv: string[]): Promise<void> {
  const [mode, server = '127.0.0.11', name = '', a = 'A', b = 'udp'] = argv;
  const out = mode === 'wait' ? await waitFor(server, name, Number(a) || 10_000)
    : mode === 'load' ? await load(server, name, Number(a), Number(b)) : b === 'tcp' ? await queryTcp(server, name, a) : await queryUdp(server, name, a);
  process.stdout.write(`${JSON.stringify(out)}\n`);
}

if (process.argv[1] === SELF) {
  main(process.argv.slice(2)).catch((e: unknown) => {
    process.stderr.write(`dns-probe: ${(e as Error).message}\n`);
    process.exit(1);
  });
}
