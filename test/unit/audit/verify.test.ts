/** verifyMatrix with a fake prober: how outcomes count, the retry of a disagreement, a failing run. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { computeMatrix } from '../../../src/audit/matrix.js';
import { scenarioFacts, scenarioRuleset } from '../../helpers/audit-scenario.js';
import { verifyMatrix, type ProbeFn } from '../../../src/audit/verify.js';
import type { ProbeOutcome } from '../../../src/kernel/probe.js';

const facts = scenarioFacts();
const fresh = () => computeMatrix(facts, scenarioRuleset());

/** A prober that answers what the model says (open for allowed, timeout for denied), but lies `times` times about the host's TCP probe of `lie`. */
function faithful(lie?: { addr: string; port: number; times: number }): { fn: ProbeFn; calls: number[] } {
  const m = fresh();
  const verdict = new Map<string, string>();
  const source = (c: (typeof m.cells)[number]): string => (c.from.kind === 'container' ? facts.containers.find((x) => x.name === (c.from as { name: string }).name)?.netns ?? '' : c.from.kind === 'host' ? 'host' : 'x-world');
  for (const c of m.cells) for (const k of c.checks) verdict.set(`${source(c)}|${k.addr}|${k.proto}|${k.port}`, k.verdict);
  const calls: number[] = [];
  let lies = lie?.times ?? 0;
  const fn: ProbeFn = async (groups, timeoutMs) => {
    calls.push(timeoutMs);
    return groups.flatMap((g) => g.probes.map((p) => {
      const allowed = verdict.get(`${g.netns ?? 'host'}|${p.addr}|${p.proto}|${p.port}`) === 'allowed';
      let outcome: ProbeOutcome = allowed ? 'open' : 'timeout';
      if (lie && g.netns === undefined && p.proto === 'tcp' && p.addr === lie.addr && p.port === lie.port && lies > 0) {
        lies--;
        outcome = outcome === 'open' ? 'timeout' : 'open';
      }
      return { id: p.id, outcome, ms: 1 };
    }));
  };
  return { fn, calls };
}

test('a prober that agrees everywhere gives no disagreement and no retry; the world is skipped without its namespace', async () => {
  const m = fresh();
  const { fn, calls } = faithful();
  const v = await verifyMatrix(facts, m, { probe: fn });
  const world = m.cells.filter((c) => c.from.kind === 'world').reduce((n, c) => n + c.checks.length, 0);
  assert.equal(v.skipped, world);
  assert.ok(v.probes > 0);
  assert.deepEqual(calls, [1000]);
});

test('a probe that disagrees once is retried with three times the budget and then agrees', async () => {
  const m = fresh();
  const { fn, calls } = faithful({ addr: '172.19.0.2', port: 9, times: 1 });
  const v = await verifyMatrix(facts, m, { probe: fn, worldNetns: 'x-world' });
  assert.deepEqual(v.disagreements, []);
  assert.equal(v.retried, 1);
  assert.deepEqual(calls, [1000, 3000]);
});

test('a probe that keeps disagreeing is reported with both sides', async () => {
  const m = fresh();
  const { fn } = faithful({ addr: '172.19.0.2', port: 9, times: 2 });
  const v = await verifyMatrix(facts, m, { probe: fn, worldNetns: 'x-world' });
  assert.equal(v.disagreements.length, 1);
  const d = v.disagreements[0];
  assert.equal(d?.addr, '172.19.0.2');
  assert.notEqual(d?.model === 'allowed', d?.probe === 'open');
});

test('a prober that fails twice leaves its checks unprobed and says why', async () => {
  const m = fresh();
  const v = await verifyMatrix(facts, m, { probe: async () => { throw new Error('no namespace'); } });
  assert.equal(v.probes, 0);
  assert.deepEqual(v.errors, ['no namespace']);
  assert.equal(v.skipped, m.cells.reduce((n, c) => n + c.checks.length, 0));
});
