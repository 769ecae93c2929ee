/**
 * The instruments of bench/overlay-scale.ts:
 * - `FdbWatch`: one `bridge monitor fdb` per lab host; notes the wall clock at which each MAC's
 *   forwarding entry first appears on each host's VXLAN device (the engine writes the neighbour
 *   entry first and the FDB entry last, so the FDB entry means "programmed");
 * - `EtcdProbe`: the etcd-probe.ts program in host 1's namespace (etcd with the swarm's TLS);
 * - `daemonRss`: a host's redesd resident memory.
 *
 * Use: `const w = FdbWatch.start(lab, vxlan)`; `await w.allHosts(mac, hosts, limitMs)`;
 * `const p = await EtcdProbe.start(lab, clusterId)`; `await p.call({ op: 'count' })`.
 *
 * Beware: the times are the bench process's clock when it read the monitor's line: on a loaded
 * machine the event loop adds its own delay (the same for every host).
 */
import { spawn, type ChildProcessByStdio, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import type { Lab } from '../test/helpers/lab.js';

const here = dirname(fileURLToPath(import.meta.url));

export class FdbWatch {
  /** mac -> host index (1-based) -> Date.now() when first seen. */
  readonly seen = new Map<string, Map<number, number>>();
  private readonly children: ChildProcessWithoutNullStreams[] = [];

  private constructor() {}

  static start(lab: Lab, vxlan: string): FdbWatch {
    const w = new FdbWatch();
    const re = new RegExp(`^([0-9a-f:]{17}) dev ${vxlan} dst `);
    lab.hosts.forEach((_, i) => {
      const child = spawn('nsenter', [`--net=/run/netns/${lab.name}${i + 1}`, 'bridge', 'monitor', 'fdb'], { stdio: ['pipe', 'pipe', 'pipe'] });
      w.children.push(child);
      createInterface({ input: child.stdout }).on('line', (line) => {
        const m = re.exec(line);
        if (!m?.[1]) return;
        let hosts = w.seen.get(m[1]);
        if (!hosts) w.seen.set(m[1], (hosts = new Map()));
        if (!hosts.has(i + 1)) hosts.set(i + 1, Date.now());
      });
    });
    return w;
  }

  /** Date.now() at which the last of `hosts` held `mac` (waits up to limitMs). */
  async allHosts(mac: string, hosts: readonly number[], limitMs: number): Promise<{ first: number; last: number }> {
    const t0 = Date.now();
    for (;;) {
      const m = this.seen.get(mac);
      if (m && hosts.every((h) => m.has(h))) {
        const ts = hosts.map((h) => m.get(h) as number);
        return { first: Math.min(...ts), last: Math.max(...ts) };
      }
      if (Date.now() - t0 > limitMs) {
        const missing = hosts.filter((h) => !m?.has(h));
        throw new Error(`FDB entry ${mac} missing on hosts ${missing.join(',')} after ${limitMs} ms`);
      }
      await new Promise((r) => setTimeout(r, 5));
    }
  }

  stop(): void {
    for (const c of this.children) c.kill('SIGKILL');
  }
}

export class EtcdProbe {
  private readonly waiting: Array<{ resolve: (v: Record<string, unknown>) => void; reject: (e: Error) => void }> = [];

  private constructor(private readonly child: ChildProcessByStdio<Writable, Readable, null>) {
    createInterface({ input: child.stdout }).on('line', (line) => this.waiting.shift()?.resolve(JSON.parse(line) as Record<string, unknown>));
    child.once('exit', (code) => {
      for (const w of this.waiting.splice(0)) w.reject(new Error(`etcd-probe exited (${code})`));
    });
  }

  static async start(lab: Lab, clusterId: string): Promise<EtcdProbe> {
    const argv = [`--net=/run/netns/${lab.name}1`, process.execPath, join(here, 'etcd-probe.js'), `/var/lib/redes/${lab.name}1/swarm`, clusterId];
    const child = spawn('nsenter', argv, { stdio: ['pipe', 'pipe', 'inherit'], env: { ...process.env, NODE_OPTIONS: '--no-deprecation' } });
    const p = new EtcdProbe(child);
    const ready = await p.next();
    if (!ready.ready) throw new Error(`etcd-probe did not start: ${JSON.stringify(ready)}`);
    return p;
  }

  private next(): Promise<Record<string, unknown>> {
    return new Promise((resolve, reject) => this.waiting.push({ resolve, reject }));
  }

  async call<T>(req: Record<string, unknown>): Promise<T> {
    const answer = this.next();
    this.child.stdin.write(`${JSON.stringify(req)}\n`);
    const a = await answer;
    if (a.error !== undefined) throw new Error(`etcd-probe ${String(req.op)}: ${String(a.error)}`);
    return a.ok as T;
  }

  async close(): Promise<void> {
    await this.call({ op: 'close' }).catch(() => undefined);
    this.child.kill('SIGKILL');
  }
}

/** Resident memory of host i's redesd, in KiB. */
export async function daemonRss(lab: Lab, i: number): Promise<number> {
  const pid = (await readFile(`/run/redes/${lab.name}${i}/redesd.pid`, 'utf8')).trim();
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? NaN);
}
