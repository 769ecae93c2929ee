import { test } from 'node:test';
import assert from 'node:assert/strict';
import dnsPacket, { type DecodedPacket } from 'dns-packet';
import { DnsRecords } from './records.js';
import { answerLocally, encodeForUdp, ptrAddress, type ClientView } from './answer.js';
import { embeddedResolvConf, upstreamServers } from './upstream.js';

function table(): DnsRecords {
  const r = new DnsRecords();
  r.setContainer('c1', [
    { containerId: 'c1', networkId: 'n1', networkName: 'red', names: ['c1', 'web', 'aaaaaaaaaaaa'], ipv4: '10.0.0.2', ipv6: 'fd00::2' },
    { containerId: 'c1', networkId: 'n2', networkName: 'blue', names: ['c1'], ipv4: '10.1.0.2' },
  ]);
  r.setContainer('c2', [{ containerId: 'c2', networkId: 'n1', networkName: 'red', names: ['c2', 'web'], ipv4: '10.0.0.3' }]);
  return r;
}

const query = (name: string, type: string): DecodedPacket =>
  dnsPacket.decode(dnsPacket.encode({ type: 'query', id: 9, flags: dnsPacket.RECURSION_DESIRED, questions: [{ type: type as 'A', name }] }));
const view = (networkIds: string[], upstream: string[] = []): ClientView => ({ networkIds, links: new Map(), upstream });

test('lookups are scoped to the asking networks, case-insensitive, with name.network', () => {
  const r = table();
  assert.deepEqual(r.lookup(['n1'], 'C1.'), { v4: ['10.0.0.2'], v6: ['fd00::2'] });
  assert.deepEqual(r.lookup(['n2'], 'c1'), { v4: ['10.1.0.2'], v6: [] });
  assert.equal(r.lookup(['n2'], 'c2'), undefined);
  assert.deepEqual(r.lookup(['n1', 'n2'], 'c1.blue')?.v4, ['10.1.0.2']);
  assert.deepEqual(r.lookup(['n1'], 'web')?.v4.sort(), ['10.0.0.2', '10.0.0.3']);
});

test('setContainer replaces and deleteContainer removes every record of a container', () => {
  const r = table();
  r.setContainer('c1', [{ containerId: 'c1', networkId: 'n1', networkName: 'red', names: ['renamed'], ipv4: '10.0.0.2' }]);
  assert.equal(r.lookup(['n1'], 'c1'), undefined);
  assert.deepEqual(r.lookup(['n1'], 'web')?.v4, ['10.0.0.3']);
  r.deleteContainer('c2');
  assert.equal(r.lookup(['n1'], 'web'), undefined);
  assert.equal(r.reverse(['n1'], '10.0.0.3'), undefined);
  assert.equal(r.reverse(['n1'], '10.0.0.2'), 'renamed.red');
});

test('answers: A in turn, empty NOERROR AAAA, PTR, and undefined (forward) for foreign names', () => {
  const r = table();
  const firsts = new Set([0, 1, 2, 3].map(() => (answerLocally(query('web', 'A'), view(['n1']), r)?.answers?.[0] as { data: string }).data));
  assert.deepEqual([...firsts].sort(), ['10.0.0.2', '10.0.0.3']);
  const aaaa = answerLocally(query('c2', 'AAAA'), view(['n1']), r);
  assert.deepEqual([aaaa?.answers, (aaaa?.flags ?? 0) & 0xf], [[], 0]);
  const ptr = answerLocally(query('2.0.0.10.in-addr.arpa', 'PTR'), view(['n1']), r);
  assert.deepEqual(ptr?.answers?.map((a) => (a as { data: string }).data), ['c1.red']);
  assert.equal(answerLocally(query('world.test', 'A'), view(['n1']), r), undefined);
  const linked: ClientView = { networkIds: ['n1'], links: new Map([['db', 'c2']]), upstream: [] };
  assert.deepEqual(answerLocally(query('db', 'A'), linked, r)?.answers?.map((a) => (a as { data: string }).data), ['10.0.0.3']);
});

test('PTR names of both families, and truncation above the UDP limit', () => {
  assert.equal(ptrAddress('4.3.2.1.in-addr.arpa.'), '1.2.3.4');
  assert.equal(ptrAddress('2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.d.f.ip6.arpa'), 'fd00::2');
  assert.equal(ptrAddress('x.in-addr.arpa'), undefined);
  const many = { ...query('big', 'A'), type: 'response' as const, answers: Array.from({ length: 60 }, (_, i) => ({ type: 'A' as const, name: 'big', ttl: 1, data: `10.0.${i}.1` })) };
  const buf = encodeForUdp(many, 512);
  const p = dnsPacket.decode(buf) as DecodedPacket & { flag_tc: boolean };
  assert.deepEqual([p.flag_tc, p.answers?.length], [true, 0]);
});

test('upstream servers and the embedded resolv.conf', () => {
  const host = 'nameserver 203.0.113.1\nnameserver 203.0.113.2\nnameserver 203.0.113.3\nnameserver 203.0.113.4\nsearch a.test\n';
  assert.deepEqual(upstreamServers([], host), ['203.0.113.1', '203.0.113.2', '203.0.113.3']);
  assert.deepEqual(upstreamServers(['198.51.100.9'], host), ['198.51.100.9']);
  assert.equal(embeddedResolvConf('127.0.0.11', [], []), 'nameserver 127.0.0.11\noptions ndots:0\n');
  assert.equal(embeddedResolvConf('127.0.0.11', ['x.test'], ['ndots:2', 'rotate']), 'nameserver 127.0.0.11\nsearch x.test\noptions ndots:2 rotate\n');
});
