// Hostile input, property-based (fast-check): bodies and queries of network create, container create
// (then start), connect, disconnect, exec (create, then a detached start) and the `filters` of the
// list endpoints, plausible and hostile (helpers/fuzz-arbitraries.ts), sent to a real redesd. Every
// answer must be 2xx or 4xx, and an error must be Docker's `{"message": "..."}` in JSON; whatever a
// request created is removed again (204), the fixture network and container stay as they were, the
// daemon keeps its pid, and at the end `redes doctor` finds the kernel equal to the state (nothing
// half created). The daemon log must hold no escaped error (checked by the sandbox's down()).
//
// Seeded and bounded: REDES_FUZZ_SEED (default below) and REDES_FUZZ_RUNS (the runs of the cheap
// properties; container create+start gets a third). A failure prints the seed and the failing input
// (fast-check's report); REDES_FUZZ_SHRINK=1 also shrinks it (slow against a real daemon).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { startSandbox, type Sandbox } from '../helpers/sandbox.js';
import { apiRequest, type ApiResponse } from '../helpers/engine-api.js';
import { differences } from '../helpers/consistency.js';
import { filtersQuery, hostileBodies, name, nastyString, plausible } from '../helpers/fuzz-arbitraries.js';

type Bodies = typeof plausible;
/** Half plausible bodies (which get past validation and reach the kernel), half hostile ones. */
const mixed = <K extends keyof Bodies>(k: K): Bodies[K] => fc.oneof(plausible[k], hostileBodies[k]) as Bodies[K];
const networkCreateBody = mixed('networkCreateBody');
const containerCreateBody = mixed('containerCreateBody');
const connectBody = mixed('connectBody');
const disconnectBody = mixed('disconnectBody');
const execBody = mixed('execBody');

const SEED = Number(process.env.REDES_FUZZ_SEED ?? 20261203);
const RUNS = Number(process.env.REDES_FUZZ_RUNS ?? 40);
const SHRINK = process.env.REDES_FUZZ_SHRINK === '1';
let fuzzed = 0;
/** Answers by operation and status class, printed at the end (how much got past validation). */
const tally = new Map<string, number>();

let sb: Sandbox;
let daemonPid: number | undefined;
before(async () => {
  sb = await startSandbox(undefined, { prefix: 'fuzz' });
  daemonPid = await sb.daemonPid();
  console.log(`fuzz: seed ${SEED}, ${RUNS} runs per property (REDES_FUZZ_SEED / REDES_FUZZ_RUNS)`);
});
after(() => sb?.down());

const api = (method: string, path: string, body?: unknown): Promise<ApiResponse> =>
  apiRequest(sb.socket, method, `/v1.50${path}`, { ...(body === undefined ? {} : { body }), timeoutMs: 60_000 });
/** Lone surrogates (generated on purpose) would make encodeURIComponent throw: UTF-8 turns them into U+FFFD. */
const enc = (v: string): string => encodeURIComponent(Buffer.from(v, 'utf8').toString('utf8'));

/** 2xx, or 4xx with Docker's error body; returns the response. */
function wellFormed(r: ApiResponse, what: string): ApiResponse {
  fuzzed++;
  const key = `${what.split(' ')[0]} ${Math.floor(r.status / 100)}xx`;
  tally.set(key, (tally.get(key) ?? 0) + 1);
  const shown = `${what} -> ${r.status} ${r.body.slice(0, 300)}`;
  assert.ok((r.status >= 200 && r.status < 300) || (r.status >= 400 && r.status < 500), shown);
  if (r.status >= 400) {
    assert.equal(r.headers['content-type'], 'application/json', shown);
    const j = r.json<{ message?: unknown }>();
    assert.equal(typeof j.message, 'string', shown);
  }
  return r;
}

const show = (v: unknown): string => JSON.stringify(v)?.slice(0, 400) ?? String(v);

function check<T>(label: string, arb: fc.Arbitrary<T>, runs: number, body: (v: T) => Promise<void>): Promise<void> {
  return fc.assert(fc.asyncProperty(arb, body), {
    seed: SEED,
    numRuns: runs,
    endOnFailure: !SHRINK,
    reporter: (out) => {
      if (!out.failed) return;
      const cause = out.errorInstance instanceof Error ? out.errorInstance.message : String(out.errorInstance);
      throw new Error(`fuzz ${label} failed (seed ${SEED}, replay with REDES_FUZZ_SEED=${SEED}): ${fc.defaultReportMessage(out)}\n${cause}`);
    },
  });
}

async function fixtureIntact(): Promise<void> {
  const nets = (await api('GET', '/networks')).json<Array<{ Name: string }>>().map((n) => n.Name).sort();
  assert.deepEqual(nets, ['bridge', 'fz', 'fz2', 'host', 'none']);
  const cs = (await api('GET', '/containers/json?all=1')).json<Array<{ Names: string[]; State: string }>>();
  assert.deepEqual(cs.map((c) => [c.Names[0], c.State]), [['/fzc', 'running']]);
}

test('setup: networks fz and fz2, container fzc running on fz', async () => {
  for (const [Name, Subnet] of [['fz', '10.88.0.0/24'], ['fz2', '10.89.0.0/24']]) {
    const n = await api('POST', '/networks/create', { Name, IPAM: { Config: [{ Subnet }] } });
    assert.equal(n.status, 201, n.body);
  }
  const c = await api('POST', '/containers/create?name=fzc', { Image: 'busybox', Cmd: ['sleep', '3600'], HostConfig: { NetworkMode: 'fz' } });
  assert.equal(c.status, 201, c.body);
  assert.equal((await api('POST', '/containers/fzc/start')).status, 204);
});

test('fuzz POST /networks/create: 2xx or 4xx, a created network removes cleanly', async () => {
  await check('networks/create', networkCreateBody, RUNS, async (body) => {
    const r = wellFormed(await api('POST', '/networks/create', body), `network-create ${show(body)}`);
    if (r.status === 201) {
      const { Id } = r.json<{ Id: string }>();
      assert.equal(wellFormed(await api('DELETE', `/networks/${Id}`), `network-rm after ${show(body)}`).status, 204);
    }
  });
  await fixtureIntact();
});

test('fuzz POST /containers/create and start: 2xx or 4xx, a created container removes cleanly', async () => {
  const arb = fc.tuple(fc.oneof({ weight: 4, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: name }), containerCreateBody);
  await check('containers/create', arb, Math.max(1, Math.round(RUNS / 3)), async ([cname, body]) => {
    const q = cname === undefined ? '' : `?name=${enc(cname)}`;
    const r = wellFormed(await api('POST', `/containers/create${q}`, body), `container-create ${q} ${show(body)}`);
    if (r.status !== 201) return;
    const { Id } = r.json<{ Id: string }>();
    wellFormed(await api('POST', `/containers/${Id}/start`), `start ${show(body)}`);
    assert.equal(wellFormed(await api('DELETE', `/containers/${Id}?force=1`), `container-rm after ${show(body)}`).status, 204);
  });
  await fixtureIntact();
});

test('fuzz POST /networks/{id}/connect and /disconnect: 2xx or 4xx, state restored', async () => {
  const target = fc.oneof({ weight: 2, arbitrary: fc.constantFrom('bridge', 'fz2', 'fz2', 'host', 'none') }, { weight: 1, arbitrary: name });
  await check('connect', fc.tuple(target, connectBody), RUNS, async ([net, body]) => {
    const r = wellFormed(await api('POST', `/networks/${enc(net)}/connect`, body), `connect ${net} ${show(body)}`);
    if (r.status === 200) {
      const d = await api('POST', `/networks/${enc(net)}/disconnect`, { Container: body.Container, Force: true });
      assert.equal(wellFormed(d, `disconnect-after ${net} ${show(body)}`).status, 200);
    }
  });
  const from = fc.oneof({ weight: 2, arbitrary: fc.constantFrom('fz', 'bridge', 'none', 'host') }, { weight: 1, arbitrary: name });
  await check('disconnect', fc.tuple(from, disconnectBody), RUNS, async ([net, body]) => {
    const r = wellFormed(await api('POST', `/networks/${enc(net)}/disconnect`, body), `disconnect ${net} ${show(body)}`);
    if (r.status === 200 && net === 'fz') {
      assert.equal(wellFormed(await api('POST', '/networks/fz/connect', { Container: 'fzc' }), 'reconnect-fz').status, 200);
    }
  });
  await fixtureIntact();
});

test('fuzz POST /containers/{id}/exec and a detached start: 2xx or 4xx', async () => {
  const target = fc.oneof({ weight: 6, arbitrary: fc.constant('fzc') }, { weight: 1, arbitrary: name });
  const start = fc.record({ Detach: fc.constant(true), Tty: fc.boolean(), ConsoleSize: fc.constantFrom(undefined, [24, 80], [-1, 2], 'x') }, { requiredKeys: ['Detach'] });
  await check('exec', fc.tuple(target, execBody, start), RUNS, async ([cid, body, startBody]) => {
    const r = wellFormed(await api('POST', `/containers/${enc(cid)}/exec`, body), `exec ${cid} ${show(body)}`);
    if (r.status !== 201) return;
    const { Id } = r.json<{ Id: string }>();
    wellFormed(await api('POST', `/exec/${Id}/start`, startBody), `exec-start ${show(body)} ${show(startBody)}`);
    wellFormed(await api('GET', `/exec/${Id}/json`), 'exec-inspect');
  });
  await fixtureIntact();
});

test('fuzz the filters (and other queries) of the list endpoints: 2xx or 4xx', async () => {
  const lists = fc.constantFrom('/networks', '/containers/json?all=1', '/images/json', '/volumes', '/networks/fz', '/containers/fzc/json');
  const extra = fc.oneof(fc.constant(''), fc.tuple(fc.constantFrom('limit', 'size', 'all', 'verbose', 'scope', 'digests'), nastyString).map(([k, v]) => `&${k}=${enc(v)}`));
  await check('filters', fc.tuple(lists, filtersQuery, extra), RUNS, async ([path, filters, more]) => {
    const url = `${path}${path.includes('?') ? '&' : '?'}filters=${enc(filters)}${more}`;
    wellFormed(await api('GET', url), `GET ${url.slice(0, 300)}`);
  });
});

test('after the fuzz: the same daemon, the fixture intact, the kernel equal to the state', async () => {
  console.log(`fuzz: ${fuzzed} requests checked: ${[...tally].map(([k, n]) => `${k} ${n}`).join(', ')}`);
  assert.equal(await sb.daemonPid(), daemonPid, 'the daemon was not restarted');
  await fixtureIntact();
  assert.deepEqual(await differences(sb), []);
  assert.equal((await api('DELETE', '/containers/fzc?force=1')).status, 204);
  for (const n of ['fz', 'fz2']) assert.equal((await api('DELETE', `/networks/${n}`)).status, 204);
  assert.deepEqual(await differences(sb), []);
});
