/**
 * The probe agent: a tiny program started inside a network namespace (`nsenter --net=...`, see
 * probe.ts) that opens the connections it is given, all at once, and says how each ended. It reads
 * `{ timeoutMs, probes: [{ id, proto, addr, port }] }` as JSON on stdin and prints one JSON array
 * `[{ id, outcome, ms }]`.
 *
 * Outcomes: `open` (TCP connected, UDP or ICMP answered), `refused` (a TCP RST or an ICMP port
 * unreachable: the packet reached the target's kernel), `unreachable` (no route, or an ICMP host or
 * network unreachable), `timeout` (silence: dropped on the way), `error` (anything else).
 *
 * Beware: ICMP echo goes through `busybox ping` (Node has no raw sockets); busybox must be on PATH.
 * A UDP service that never answers looks like a drop: UDP probes are meant for closed ports.
 */
import { spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { Socket } from 'node:net';

export type ProbeOutcome = 'open' | 'refused' | 'unreachable' | 'timeout' | 'error';
interface Probe {
  id: number;
  proto: 'tcp' | 'udp' | 'icmp';
  addr: string;
  port: number;
}

const UNREACH = new Set(['EHOSTUNREACH', 'ENETUNREACH', 'EADDRNOTAVAIL']);

function classify(e: NodeJS.ErrnoException): ProbeOutcome {
  if (e.code === 'ECONNREFUSED') return 'refused';
  if (e.code && UNREACH.has(e.code)) return 'unreachable';
  return 'error';
}

function tcp(p: Probe, timeoutMs: number): Promise<ProbeOutcome> {
  return new Promise((resolve) => {
    const s = new Socket();
    const done = (o: ProbeOutcome): void => {
      s.destroy();
      resolve(o);
    };
    s.setTimeout(timeoutMs, () => done('timeout'));
    s.once('connect', () => done('open'));
    s.once('error', (e) => done(classify(e)));
    s.connect({ host: p.addr, port: p.port });
  });
}

function udp(p: Probe, timeoutMs: number): Promise<ProbeOutcome> {
  return new Promise((resolve) => {
    const s = createSocket('udp4');
    let settled = false;
    const done = (o: ProbeOutcome): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      s.close();
      resolve(o);
    };
    const timer = setTimeout(() => done('timeout'), timeoutMs);
    s.on('error', (e) => done(classify(e)));
    s.on('message', () => done('open'));
    // On a failed connect (no route) node still calls back, unconnected: the error event says why.
    s.connect(p.port, p.addr, () => {
      try {
        s.send(Buffer.from('redes-audit-probe'));
      } catch {
        done('unreachable');
      }
    });
  });
}

function icmp(p: Probe, timeoutMs: number): Promise<ProbeOutcome> {
  return new Promise((resolve) => {
    const secs = String(Math.max(1, Math.ceil(timeoutMs / 1000)));
    const child = spawn('busybox', ['ping', '-c', '1', '-W', secs, p.addr], { stdio: ['ignore', 'pipe', 'pipe'] });
    let text = '';
    child.stdout.on('data', (b: Buffer) => (text += b.toString()));
    child.stderr.on('data', (b: Buffer) => (text += b.toString()));
    child.on('error', () => resolve('error'));
    child.on('close', (code) => resolve(code === 0 ? 'open' : /unreachable/i.test(text) ? 'unreachable' : 'timeout'));
  });
}

async function main(): Promise<void> {
  let input = '';
  for await (const chunk of process.stdin) input += String(chunk);
  const req = JSON.parse(input) as { timeoutMs?: number; probes: Probe[] };
  const timeoutMs = req.timeoutMs ?? 1000;
  // ICMP first: each ping is a process that keeps its own clock, so spawning them all up front (which
  // keeps this event loop busy for a while) cannot distort their results; the TCP and UDP probes,
  // whose timers run here, start once the loop is free again.
  const timed = (p: Probe, f: () => Promise<ProbeOutcome>): Promise<{ id: number; outcome: ProbeOutcome; ms: number }> => {
    const t0 = performance.now();
    return f().then((outcome) => ({ id: p.id, outcome, ms: Math.round(performance.now() - t0) }));
  };
  const pings = req.probes.filter((p) => p.proto === 'icmp').map((p) => timed(p, () => icmp(p, timeoutMs)));
  await new Promise((r) => setImmediate(r));
  const sockets = req.probes.filter((p) => p.proto !== 'icmp').map((p) => timed(p, () => (p.proto === 'tcp' ? tcp(p, timeoutMs) : udp(p, timeoutMs))));
  const results = await Promise.all([...pings, ...sockets]);
  process.stdout.write(JSON.stringify(results));
}

main().catch((e: unknown) => {
  process.stderr.write(`probe-agent: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
