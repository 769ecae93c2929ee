/** The evaluator on small hand-made rulesets: chain order, jumps, policies, unknown expressions. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { evaluateHook, type Packet } from './eval.js';
import { parseRuleset } from './ruleset.js';

const pkt: Packet = { iif: 'br-a', oif: 'br-b', saddr: '10.0.0.2', daddr: '10.1.0.2', proto: 'tcp', sport: 40000, dport: 80, ctState: 'new', ctStatus: [], fibDaddr: 'unicast' };
const chain = (table: string, name: string, prio: number, policy = 'accept') => ({ chain: { family: 'inet', table, name, type: 'filter', hook: 'forward', prio, policy } });
const rule = (table: string, chainName: string, expr: unknown[], comment?: string) => ({ rule: { family: 'inet', table, chain: chainName, handle: 1, expr, ...(comment ? { comment } : {}) } });
const m = (left: unknown, right: unknown, op = '==') => ({ match: { op, left, right } });
const dport = { payload: { protocol: 'tcp', field: 'dport' } };

test('an accept in one base chain does not skip the next; a drop there is final', () => {
  const rs = parseRuleset({ nftables: [chain('a', 'f', -1), rule('a', 'f', [{ accept: null }]), chain('b', 'f', 0), rule('b', 'f', [m(dport, 80), { drop: null }], 'no web')] });
  const d = evaluateHook(rs, 'forward', pkt);
  assert.equal(d.verdict, 'drop');
  assert.equal(d.rule?.comment, 'no web');
  assert.equal(evaluateHook(rs, 'forward', { ...pkt, dport: 81 }).verdict, 'accept');
});

test('jump and return, prefixes, anonymous sets and wildcards', () => {
  const rs = parseRuleset({ nftables: [
    chain('t', 'f', 0), { chain: { family: 'inet', table: 't', name: 'sub' } },
    rule('t', 'f', [m({ meta: { key: 'iifname' } }, 'br-*'), { jump: { target: 'sub' } }]),
    rule('t', 'sub', [m({ payload: { protocol: 'ip', field: 'saddr' } }, { prefix: { addr: '10.0.0.0', len: 24 } }), { return: null }]),
    rule('t', 'sub', [{ drop: null }]),
    rule('t', 'f', [m(dport, { set: [22, 80] }), { drop: null }], 'ssh or web'),
  ] });
  assert.equal(evaluateHook(rs, 'forward', pkt).rule?.comment, 'ssh or web');
  assert.equal(evaluateHook(rs, 'forward', { ...pkt, saddr: '10.9.0.2' }).rule?.comment, undefined);
  assert.equal(evaluateHook(rs, 'forward', { ...pkt, saddr: '10.9.0.2' }).verdict, 'drop');
  assert.equal(evaluateHook(rs, 'forward', { ...pkt, dport: 443 }).verdict, 'accept');
});

test('a drop policy drops what no rule accepted; ICMP skips TCP matches', () => {
  const rs = parseRuleset({ nftables: [chain('t', 'f', 0, 'drop'), rule('t', 'f', [m(dport, 80), { accept: null }])] });
  assert.equal(evaluateHook(rs, 'forward', pkt).verdict, 'accept');
  const d = evaluateHook(rs, 'forward', { ...pkt, proto: 'icmp', dport: 0 });
  assert.equal(d.verdict, 'drop');
  assert.equal(d.policyChain?.name, 'f');
});

test('an expression the evaluator does not know makes the verdict unknown, naming the rule', () => {
  const rs = parseRuleset({ nftables: [chain('t', 'f', 0), rule('t', 'f', [m({ meta: { key: 'mark' } }, 1), { drop: null }], 'marked')] });
  const d = evaluateHook(rs, 'forward', pkt);
  assert.equal(d.verdict, 'unknown');
  assert.equal(d.rule?.comment, 'marked');
});

test('dnat through a map rewrites the packet and sets ct status dnat', () => {
  const rs = parseRuleset({ nftables: [
    { chain: { family: 'inet', table: 't', name: 'pre', type: 'nat', hook: 'prerouting', prio: -100, policy: 'accept' } },
    { map: { family: 'inet', table: 't', name: 'pub', type: ['inet_proto', 'inet_service'], map: 'ipv4_addr . inet_service', elem: [[{ concat: ['tcp', 8080] }, { concat: ['172.20.0.2', 80] }]] } },
    rule('t', 'pre', [{ dnat: { family: 'ip', addr: { map: { key: { concat: [{ meta: { key: 'l4proto' } }, { payload: { protocol: 'th', field: 'dport' } }] }, data: '@pub' } } } }]),
  ] });
  const d = evaluateHook(rs, 'prerouting', { ...pkt, dport: 8080, fibDaddr: 'local' });
  assert.equal(d.packet.daddr, '172.20.0.2');
  assert.equal(d.packet.dport, 80);
  assert.deepEqual(d.packet.ctStatus, ['dnat']);
  assert.deepEqual(evaluateHook(rs, 'prerouting', pkt).packet.ctStatus, []);
});
