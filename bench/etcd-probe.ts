/**
 * A helper program of bench/overlay-scale.ts, run inside a lab host's namespace (where the swarm's
 * etcd answers on 127.0.0.1:2379 with TLS): it talks to etcd as the engines do (npm `etcd3`, the
 * host's swarm certificate) and answers one JSON line per JSON line on stdin:
 * - `{op:'put', items:[{key,value}], inflight}`: leased puts (one lease of its own, as a host's);
 *   answers `{acks}`, the wall clock (Date.now()) at each put's acknowledgement, in item order;
 * - `{op:'count'}`: the key changes under the cluster's root since the last `count`, by the first
 *   segment of the key (`endpoints`, `ipam`, ...), and the store revisions that passed;
 * - `{op:'rates', puts, inflight:[..], watchers:[..], events}`: etcd's own rates on a scratch prefix
 *   outside the cluster's root: puts/s at each number of puts in flight, and for W watching clients
 *   how long `events` puts take to reach all of them (events delivered/s, per-put latency);
 * - `{op:'close'}`: revokes the lease (its keys go) and exits.
 *
 * Use: `nsenter --net=/run/netns/<host> node dist/bench/etcd-probe.js SWARM_DIR CLUSTER_ID`.
 *
 * Beware: everything runs in one Node process on a shared 2-core machine: the rates are what etcd
 * and one client process reach together, a floor for etcd alone.
 */
import { readFile } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { Etcd3, type IOptions, type Lease } from 'etcd3';

const [swarmDir = '', clusterId = ''] = process.argv.slice(2);
const root = `/redes/${clusterId}/`;
const SCRATCH = '/redes-bench-scratch/';
/** A key of the cluster's root that no engine watches (they watch networks/, endpoints/, ...). */
const MARK = 'bench-mark';

async function options(): Promise<IOptions> {
  const [ca, cert, key] = await Promise.all(['ca.crt', 'node.crt', 'node.key'].map((f) => readFile(`${swarmDir}/${f}`)));
  return { hosts: ['https://127.0.0.1:2379'], credentials: { rootCertificate: ca as Buffer, certChain: cert as Buffer, privateKey: key as Buffer } };
}

/** Runs `fn(i)` for i in [0, n), at most `width` at once. */
async function pool(n: number, width: number, fn: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(width, n) }, async () => {
    while (next < n) await fn(next++);
  }));
}

const quantile = (xs: number[], p: number): number => [...xs].sort((a, b) => a - b)[Math.max(0, Math.ceil(p * xs.length) - 1)] ?? NaN;

async function main(): Promise<void> {
  const opts = await options();
  const client = new Etcd3(opts);
  const lease: Lease = client.lease(60);
  await lease.grant();
  // Every change under the cluster's root, counted by the key's first segment.
  const counts = new Map<string, number>();
  const first = await client.get(`${root}nothing`).exec();
  let revAtCount = Number(first.header.revision);
  let lastRev = revAtCount;
  const watcher = await client.watch().prefix(root).startRevision(String(revAtCount + 1)).create();
  watcher.on('data', (res) => {
    lastRev = Math.max(lastRev, Number(res.header.revision));
    for (const ev of res.events) {
      const seg = ev.kv.key.toString().slice(root.length).split('/')[0] ?? '';
      if (seg === MARK) continue;
      const k = `${ev.type}:${seg}`;
      counts.set(k, (counts.get(k) ?? 0) + 1);
    }
  });

  const handlers: Record<string, (req: Record<string, unknown>) => Promise<unknown>> = {
    async put(req) {
      const items = req.items as { key: string; value: string }[];
      const acks: number[] = new Array<number>(items.length);
      await pool(items.length, Number(req.inflight ?? 8), async (i) => {
        const it = items[i] as { key: string; value: string };
        await lease.put(it.key).value(it.value);
        acks[i] = Date.now();
      });
      return { acks };
    },
    async count() {
      // A write of our own marks "now": once the watch delivered it, every earlier change is counted.
      const mark = await client.put(`${root}${MARK}`).value(String(Date.now())).exec();
      const markRev = Number(mark.header.revision);
      while (lastRev < markRev) await new Promise((r) => setTimeout(r, 5));
      const out = { changes: Object.fromEntries(counts), revisions: markRev - 1 - revAtCount };
      counts.clear();
      revAtCount = markRev;
      return out;
    },
    async rates(req) {
      const n = Number(req.puts ?? 2000);
      const value = 'x'.repeat(300);
      const puts: Record<string, number> = {};
      for (const width of req.inflight as number[]) {
        const t0 = performance.now();
        await pool(n, width, async (i) => {
          await client.put(`${SCRATCH}rate/${width}/${i}`).value(value).exec();
        });
        puts[String(width)] = Math.round(n / ((performance.now() - t0) / 1000));
        await client.delete().prefix(`${SCRATCH}rate/`).exec();
      }
      const fanout: Record<string, { eventsPerSec: number; p50Ms: number; p95Ms: number; seconds: number }> = {};
      const events = Number(req.events ?? 200);
      for (const w of req.watchers as number[]) {
        const clients = Array.from({ length: w }, () => new Etcd3(opts));
        const seen = new Map<string, number>();
        const doneAt = new Map<string, number>();
        const prefix = `${SCRATCH}fan/${w}/`;
        const watchers = await Promise.all(clients.map((c) => c.watch().prefix(prefix).create()));
        for (const wt of watchers) {
          wt.on('put', (kv) => {
            const k = kv.key.toString();
            const c = (seen.get(k) ?? 0) + 1;
            seen.set(k, c);
            if (c === w) doneAt.set(k, performance.now());
          });
        }
        const putAt = new Map<string, number>();
        const t0 = performance.now();
        await pool(events, 16, async (i) => {
          const k = `${prefix}${i}`;
          putAt.set(k, performance.now());
          await client.put(k).value(value).exec();
        });
        while (doneAt.size < events && performance.now() - t0 < 120_000) await new Promise((r) => setTimeout(r, 5));
        const lat = [...doneAt].map(([k, t]) => t - (putAt.get(k) ?? t));
        const seconds = (Math.max(...doneAt.values()) - t0) / 1000;
        fanout[String(w)] = { eventsPerSec: Math.round((doneAt.size * w) / seconds), p50Ms: quantile(lat, 0.5), p95Ms: quantile(lat, 0.95), seconds };
        await Promise.all(watchers.map((wt) => wt.cancel()));
        for (const c of clients) c.close();
        await client.delete().prefix(prefix).exec();
      }
      return { puts, fanout };
    },
    async close() {
      await watcher.cancel();
      await lease.revoke();
      await client.delete().prefix(SCRATCH).exec();
      await client.delete().key(`${root}${MARK}`).exec();
      client.close();
      setTimeout(() => process.exit(0), 50);
      return {};
    },
  };

  process.stdout.write(`${JSON.stringify({ ready: true })}\n`);
  const rl = createInterface({ input: process.stdin });
  // One request at a time, in order.
  let chain = Promise.resolve();
  rl.on('line', (line) => {
    chain = chain.then(async () => {
      try {
        const req = JSON.parse(line) as Record<string, unknown>;
        const h = handlers[String(req.op)];
        if (!h) throw new Error(`unknown op ${String(req.op)}`);
        process.stdout.write(`${JSON.stringify({ ok: await h(req) })}\n`);
      } catch (e) {
        process.stdout.write(`${JSON.stringify({ error: e instanceof Error ? e.message : String(e) })}\n`);
      }
    });
  });
}

main().catch((e: unknown) => {
  process.stderr.write(`etcd-probe: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
