/**
 * The matrix of the scenario (three user networks: n_app, n_int internal, n_noicc with ICC off; the
 * default bridge with --icc=false and a link par → tgt:80; web publishing 8080 on 0.0.0.0, api 9090
 * on 127.0.0.1; an operator's rule dropping the world's packets to web:80), computed from the facts
 * and the live ruleset captured from a real daemon (src/audit/testdata/), against expectations written by hand.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { computeMatrix, type Cell } from '../../../src/audit/matrix.js';
import { computeExposure } from '../../../src/audit/exposure.js';
import { scenarioFacts, scenarioRuleset } from '../../helpers/audit-scenario.js';

const facts = scenarioFacts();
const ruleset = scenarioRuleset();
const m = computeMatrix(facts, ruleset);

const name = (p: Cell['from']): string => (p.kind === 'container' ? p.name : p.kind);
function cell(from: string, to: string, via: string): Cell {
  const c = m.cells.find((x) => name(x.from) === from && name(x.to) === to && x.via === via);
  assert.ok(c, `no cell ${from} → ${to} via ${via}`);
  return c;
}

// [from, to, via, verdict, reason]
const EXPECTED: Array<[string, string, string, string, string]> = [
  ['web', 'api', 'n_app', 'allowed', 'same-network'],
  ['api', 'web', 'n_app', 'allowed', 'same-network'],
  ['api', 'db', 'n_int', 'allowed', 'same-network'],
  ['db', 'api', 'n_int', 'allowed', 'same-network'],
  ['db', 'api', 'n_app', 'denied', 'no-route'],
  ['db', 'web', 'n_app', 'denied', 'no-route'],
  ['web', 'db', 'n_int', 'denied', 'internal'],
  ['w1', 'w2', 'n_noicc', 'denied', 'icc-off'],
  ['w2', 'w1', 'n_noicc', 'denied', 'icc-off'],
  ['tgt', 'par', 'bridge', 'denied', 'icc-off'],
  ['par', 'tgt', 'bridge', 'partial', 'link'],
  ['web', 'w1', 'n_noicc', 'denied', 'isolation'],
  ['w1', 'web', 'n_app', 'denied', 'isolation'],
  ['par', 'web', 'n_app', 'denied', 'isolation'],
  ['host', 'db', 'n_int', 'allowed', 'local'],
  ['host', 'w1', 'n_noicc', 'allowed', 'local'],
  ['world', 'web', '0.0.0.0:8080/tcp', 'denied', 'user-rule'],
  ['world', 'api', '127.0.0.1:9090/tcp', 'denied', 'loopback-only'],
  ['host', 'web', '0.0.0.0:8080/tcp', 'allowed', 'published'],
  ['host', 'api', '127.0.0.1:9090/tcp', 'allowed', 'published'],
  ['web', 'world', 'eth0', 'allowed', 'routed'],
  ['db', 'world', 'eth0', 'denied', 'no-route'],
  ['web', 'host', 'gateway of n_app', 'allowed', 'local'],
  ['web', 'host', 'gateway of n_noicc', 'denied', 'other-gateway'],
  ['db', 'host', 'gateway of n_int', 'allowed', 'local'],
  ['db', 'host', 'eth0', 'denied', 'no-route'],
  ['par', 'host', 'eth0', 'allowed', 'local'],
];

for (const [from, to, via, verdict, reason] of EXPECTED) {
  test(`${from} → ${to} (${via}) is ${verdict}: ${reason}`, () => {
    const c = cell(from, to, via);
    assert.equal(c.verdict, verdict, c.detail);
    assert.equal(c.reason, reason, c.detail);
  });
}

test('a link opens the exposed port only: 80/tcp allowed, ICMP and another port denied by ICC off', () => {
  const c = cell('par', 'tgt', 'bridge');
  const by = (proto: string, port: number) => c.checks.find((k) => k.proto === proto && k.port === port);
  assert.equal(by('tcp', 80)?.verdict, 'allowed');
  assert.equal(by('tcp', 9)?.reason, 'icc-off');
  assert.equal(by('icmp', 0)?.reason, 'icc-off');
});

test('the user rule is named with its table and text', () => {
  assert.match(cell('world', 'web', '0.0.0.0:8080/tcp').detail, /^inet audx1-user forward: ip saddr 203\.0\.113\.0\/24 tcp dport 80 ip daddr 172\.20\.0\.2 drop$/);
});

test('every ordered pair of containers has a cell for each network of the target', () => {
  const cs = facts.containers.filter((c) => c.running);
  const expected = cs.reduce((n, dst) => n + dst.endpoints.length * (cs.length - 1), 0);
  assert.equal(m.cells.filter((c) => c.kind === 'container-container').length, expected);
});

test('exposure: web on every address reached by the host and other containers, api on 127.0.0.1 with the CVE-2020-8558 guard', () => {
  const e = computeExposure(facts, ruleset, m);
  const web = e.ports.find((p) => p.container === 'web');
  const api = e.ports.find((p) => p.container === 'api');
  assert.deepEqual(web?.flags, ['all-addresses']);
  assert.equal(web?.world?.reason, 'user-rule');
  assert.equal(web?.host?.verdict, 'allowed');
  assert.ok(web?.containers.includes('api') && !web.containers.includes('db'));
  assert.deepEqual(api?.flags, ['loopback: CVE-2020-8558 blocked (cve-2020-8558)']);
  assert.deepEqual(e.networks.map((n) => `${n.name}:${n.flags.join(',')}`), ['bridge:icc off', 'n_int:internal', 'n_noicc:icc off']);
});

test('an overlay peer on another host: cells from the containers sharing its network only, named name@node', () => {
  const app = facts.networks.find((n) => n.name === 'n_app');
  assert.ok(app);
  const withRemote = { ...facts, remotes: [{ networkId: app.id, network: 'n_app', containerId: 'f'.repeat(64), name: 'far', node: 'node2', ip: '172.20.0.200' }] };
  const mm = computeMatrix(withRemote, ruleset);
  const toFar = mm.cells.filter((c) => c.to.kind === 'container' && c.to.node === 'node2');
  assert.deepEqual(toFar.map((c) => `${name(c.from)} ${c.via} ${c.verdict} ${c.reason}`).sort(), ['api n_app allowed same-network', 'web n_app allowed same-network']);
  assert.deepEqual(toFar[0]?.checks.map((k) => `${k.proto}/${k.port} ${k.addr}`), ['icmp/0 172.20.0.200', 'tcp/9 172.20.0.200', 'udp/9 172.20.0.200']);
  assert.equal(mm.cells.length, m.cells.length + 2);
});
