// Concurrency: 8 clients send 200 mixed operations each at once to one daemon (network create and
// rm, container run, create, connect, disconnect and rm -f), all aimed at a few shared names so they
// collide. Every answer must be 2xx or 4xx (503 only for an exhausted pool, as dockerd), no address
// may be given twice, and at the end `redes doctor` must find the kernel equal to the state; after
// removing everything, nothing may be left (no namespace, veth, allocation). One sandbox.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startSandbox, type Sandbox } from '../helpers/sandbox.js';
import { apiRequest, type ApiResponse } from '../helpers/engine-api.js';
import { differences } from '../helpers/consistency.js';

const CLIENTS = 8;
const OPS = 200;
const NETWORKS = ['cc0', 'cc1', 'cc2', 'cc3'];
const SUBNET: Record<string, string> = { cc0: '10.90.0.0/24', cc1: '10.91.0.0/24', cc2: '10.92.0.0/24', cc3: '10.93.0.0/24' };
/** Containers per client: names repeat, so runs, connects and removals of one name collide. */
const NAMES_PER_CLIENT = 5;

let sb: Sandbox;
before(async () => {
  sb = await startSandbox(undefined, { prefix: 'conc' });
});
after(() => sb?.down());

const api = (method: string, path: string, body?: unknown): Promise<ApiResponse> =>
  apiRequest(sb.socket, method, `/v1.50${path}`, { ...(body === undefined ? {} : { body }), timeoutMs: 300_000 });

/** A small seeded generator (mulberry32), so a failing run can be replayed with its seed. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Outcome {
  op: string;
  status: number;
  body: string;
}

type Op = (pick: <T>(xs: readonly T[]) => T, me: number) => Promise<Outcome[]>;

const one = async (op: string, r: Promise<ApiResponse>): Promise<Outcome[]> => {
  const x = await r;
  return [{ op, status: x.status, body: x.body }];
};

const anyName = (pick: <T>(xs: readonly T[]) => T): string => `k${pick([...Array(CLIENTS).keys()])}-${pick([...Array(NAMES_PER_CLIENT).keys()])}`;

/** The mix, by weight: runs and removals dominate, as in real use. */
const MIX: Array<[number, string, Op]> = [
  [4, 'network create', (pick) => { const n = pick(NETWORKS); return one('network create', api('POST', '/networks/create', { Name: n, IPAM: { Config: [{ Subnet: SUBNET[n] }] } })); }],
  [3, 'network rm', (pick) => one('network rm', api('DELETE', `/networks/${pick(NETWORKS)}`))],
  [6, 'run', async (pick, me) => {
    const name = `k${me}-${pick([...Array(NAMES_PER_CLIENT).keys()])}`;
    const c = await api('POST', `/containers/create?name=${name}`, { Image: 'busybox', Cmd: ['sleep', '3600'], HostConfig: { NetworkMode: pick([...NETWORKS, 'bridge']) } });
    const out: Outcome[] = [{ op: 'run/create', status: c.status, body: c.body }];
    if (c.status === 201) {
      const s = await api('POST', `/containers/${name}/start`);
      out.push({ op: 'run/start', status: s.status, body: s.body });
    }
    return out;
  }],
  [2, 'create', (pick, me) => one('create', api('POST', `/containers/create?name=k${me}-${pick([...Array(NAMES_PER_CLIENT).keys()])}`, { Image: 'busybox', Cmd: ['sleep', '3600'], HostConfig: { NetworkMode: pick(NETWORKS) } }))],
  [2, 'start', (pick) => one('start', api('POST', `/containers/${anyName(pick)}/start`))],
  [4, 'connect', (pick) => one('connect', api('POST', `/networks/${pick(NETWORKS)}/connect`, { Container: anyName(pick) }))],
  [3, 'disconnect', (pick) => one('disconnect', api('POST', `/networks/${pick(NETWORKS)}/disconnect`, { Container: anyName(pick), Force: pick([true, false]) }))],
  [5, 'rm', (pick) => one('rm', api('DELETE', `/containers/${anyName(pick)}?force=1`))],
];
const TOTAL = MIX.reduce((a, [w]) => a + w, 0);

/** dockerd's 503 for an exhausted pool is the one 5xx a correct daemon gives here. */
const acceptable = (o: Outcome): boolean => o.status < 500 || (o.status === 503 && /no available addresses/.test(o.body));

test(`${CLIENTS} clients x ${OPS} mixed operations at once: no 5xx, no address twice, doctor clean`, async () => {
  const seed = Number(process.env.REDES_CONCURRENCY_SEED ?? Date.now() % 1_000_000);
  const outcomes: Outcome[] = [];
  const t0 = Date.now();
  await Promise.all(
    [...Array(CLIENTS).keys()].map(async (me) => {
      const r = rng(seed * 31 + me);
      const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)] as T;
      for (let i = 0; i < OPS; i++) {
        let x = r() * TOTAL;
        const entry = MIX.find(([w]) => (x -= w) < 0) ?? (MIX[0] as (typeof MIX)[number]);
        outcomes.push(...(await entry[2](pick, me)));
      }
    }),
  );
  const byOp: Record<string, Record<number, number>> = {};
  for (const o of outcomes) {
    const m = (byOp[o.op] ??= {});
    m[o.status] = (m[o.status] ?? 0) + 1;
  }
  console.log(`seed ${seed}: ${outcomes.length} requests from ${CLIENTS * OPS} operations in ${Math.round((Date.now() - t0) / 1000)} s: ${JSON.stringify(byOp)}`);
  const bad = outcomes.filter((o) => !acceptable(o));
  assert.deepEqual(bad.map((o) => `${o.op} ${o.status} ${o.body.trim()}`), [], `seed ${seed}`);

  // No address twice among running containers (the doctor checks it too, with the kernel's view).
  const all = (await api('GET', '/containers/json')).json<Array<{ Id: string; NetworkSettings: { Networks: Record<string, { NetworkID: string; IPAddress: string }> } }>>();
  const seen = new Map<string, string>();
  for (const c of all) {
    for (const ep of Object.values(c.NetworkSettings.Networks)) {
      if (!ep.IPAddress) continue;
      const key = `${ep.NetworkID} ${ep.IPAddress}`;
      assert.ok(!seen.has(key), `${ep.IPAddress} given to ${seen.get(key)} and ${c.Id.slice(0, 12)}`);
      seen.set(key, c.Id.slice(0, 12));
    }
  }
  assert.deepEqual(await differences(sb), [], `seed ${seed}`);
});

test('after removing every container and network, nothing is left and doctor is clean', async () => {
  const all = (await api('GET', '/containers/json?all=1')).json<Array<{ Id: string }>>();
  const rms = await Promise.all(all.map((c) => api('DELETE', `/containers/${c.Id}?force=1`)));
  assert.deepEqual(rms.filter((r) => r.status !== 204).map((r) => r.body), []);
  for (const n of NETWORKS) {
    const r = await api('DELETE', `/networks/${n}`);
    assert.ok(r.status === 204 || r.status === 404, `${n}: ${r.status} ${r.body}`);
  }
  assert.deepEqual(await differences(sb), []);
  // Endpoint veths only (the sandbox host's own uplink eth0 is a veth too).
  const veths = await sb.ipJson(['link', 'show', 'type', 'veth']);
  assert.deepEqual(veths.map((l) => l.ifname).filter((n) => /^veth[0-9a-f]{7}$/.test(n)), []);
});
