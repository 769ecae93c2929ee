/** The policy gate on the scenario's matrix (matrix.test.ts): parsing, and violations both ways. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { computeMatrix } from '../../../src/audit/matrix.js';
import { checkPolicy, parsePolicy, PolicyError } from '../../../src/audit/policy.js';
import { scenarioFacts, scenarioRuleset } from '../../helpers/audit-scenario.js';

const facts = scenarioFacts();
const ruleset = scenarioRuleset();
const matrix = computeMatrix(facts, ruleset);

/** Everything the scenario allows, declared. */
const EXACT = `
groups:
  app: { names: [web, api] }
  store: { names: [db] }
  workers: { names: [w1, w2] }
  online: { names: [web, api, par, tgt, w1, w2] }
allow:
  - { from: app, to: app }
  - { from: api, to: store }
  - { from: store, to: api }
  - { from: par, to: tgt, ports: [80/tcp] }
  - { from: host, to: "*" }
  - { from: online, to: world }
  - { from: "*", to: host }
`;

test('a policy that declares exactly what is allowed has no violations', () => {
  assert.deepEqual(checkPolicy(parsePolicy(EXACT), { facts, matrix }), []);
});

test('a planted violation is caught both ways: undeclared web → api, declared w1 → w2 blocked by ICC off', () => {
  const text = EXACT.replace('  - { from: app, to: app }\n', '  - { from: api, to: web }\n  - { from: workers, to: workers }\n');
  const vs = checkPolicy(parsePolicy(text), { facts, matrix });
  const line = (v: (typeof vs)[number]) => `${v.kind} ${v.from}→${v.to} ${v.reason}`;
  assert.deepEqual(vs.map(line).sort(), ['blocked w1→w2 icc-off', 'blocked w2→w1 icc-off', 'undeclared web→api same-network']);
});

test('groups by label, and ports narrow a rule', () => {
  const f = structuredClone(facts);
  for (const c of f.containers) if (c.name === 'db') c.labels = { tier: 'data' };
  const text = EXACT.replace('store: { names: [db] }', 'store: { labels: { tier: data } }').replace('{ from: api, to: store }', '{ from: api, to: store, ports: [icmp] }');
  const vs = checkPolicy(parsePolicy(text), { facts: f, matrix });
  assert.deepEqual(vs.map((v) => `${v.kind} ${v.from}→${v.to} ${v.ports.join(',')}`), ['undeclared api→db 9/tcp,9/udp']);
});

test('bad policies are refused by name', () => {
  assert.throws(() => parsePolicy('allow: [{ from: a, to: b, port: [1] }]'), (e: Error) => e instanceof PolicyError && /unknown key "port"/.test(e.message));
  assert.throws(() => parsePolicy('groups: { world: { names: [x] } }\nallow: []'), /reserved/);
  assert.throws(() => parsePolicy('allow: [{ from: a, to: b, ports: [http] }]'), /80\/tcp/);
  assert.throws(() => checkPolicy(parsePolicy('allow: [{ from: nobody, to: host }]'), { facts, matrix }), /"nobody" is neither/);
});
