/** The topology of the scenario (test-support.ts): every container, network, port and link is drawn. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { scenarioFacts } from '../../helpers/audit-scenario.js';
import { topologyGraph, topologySvg } from '../../../src/audit/topology.js';

const facts = scenarioFacts();

test('the graph has every running container, every network, the published ports and the link', () => {
  const g = topologyGraph(facts);
  const names = (kind: string) => g.nodes.filter((n) => n.kind === kind).map((n) => n.name).sort();
  assert.deepEqual(names('container'), ['api', 'db', 'par', 'tgt', 'w1', 'w2', 'web']);
  assert.deepEqual(names('network'), ['bridge', 'n_app', 'n_int', 'n_noicc']);
  assert.deepEqual(names('port'), ['0.0.0.0:8080/tcp', '127.0.0.1:9090/tcp']);
  assert.equal(g.edges.filter((e) => e.kind === 'link').length, 1);
  assert.equal(g.edges.filter((e) => e.kind === 'veth').length, 8);
  const api = g.nodes.find((n) => n.name === 'api');
  assert.ok(api?.lines.some((l) => /^eth1 172\.18\.0\.3\/16 02:42:ac:12:00:03$/.test(l)), api?.lines.join('|'));
});

test('the SVG is laid out: one group per node and edge, with coordinates', async () => {
  const svg = await topologySvg(facts);
  assert.match(svg, /^<svg xmlns="http:\/\/www.w3.org\/2000\/svg" width="\d+" height="\d+"/);
  for (const c of ['api', 'db', 'par', 'tgt', 'w1', 'w2', 'web', 'n_app', 'n_int', 'n_noicc']) assert.match(svg, new RegExp(`data-name="${c}"`));
  assert.equal((svg.match(/<g class="edge veth"/g) ?? []).length, 8);
  assert.doesNotMatch(svg, /NaN|undefined/);
});
