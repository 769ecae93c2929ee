import { test } from 'node:test';
import assert from 'node:assert/strict';
import dnsPacket from 'dns-packet';
import { answerDns } from './world-dns.js';

const zone = new Map([['world.test', '203.0.113.1']]);

function ask(name: string, type: 'A' | 'AAAA' | 'MX' = 'A', flags = dnsPacket.RECURSION_DESIRED): dnsPacket.DecodedPacket {
  const query = dnsPacket.encode({ type: 'query', id: 4242, flags, questions: [{ type, name }] });
  const reply = answerDns(query, zone);
  assert.ok(reply, 'a query gets an answer');
  return dnsPacket.decode(reply);
}

test('world.test A is answered with the world address, authoritatively', () => {
  const r = ask('world.test');
  assert.equal(r.id, 4242);
  assert.equal(r.type, 'response');
  assert.equal(r.flag_aa, true);
  assert.equal(r.flag_rd, true);
  assert.equal((r as unknown as { rcode: string }).rcode, 'NOERROR');
  assert.deepEqual(r.answers?.map((a) => [a.name, a.type, (a as { data?: unknown }).data]), [['world.test', 'A', '203.0.113.1']]);
});

test('names match case-insensitively and with a trailing dot', () => {
  assert.equal(ask('WORLD.Test').answers?.length, 1);
  assert.equal(ask('world.test.').answers?.length, 1);
});

test('other types of world.test get an empty NOERROR answer', () => {
  const r = ask('world.test', 'AAAA');
  assert.equal((r as unknown as { rcode: string }).rcode, 'NOERROR');
  assert.equal(r.answers?.length, 0);
});

test('unknown names and subdomains are NXDOMAIN', () => {
  for (const name of ['example.com', 'www.world.test', 'test']) {
    const r = ask(name);
    assert.equal((r as unknown as { rcode: string }).rcode, 'NXDOMAIN', name);
    assert.equal(r.answers?.length, 0);
  }
});

test('garbage and responses get no answer', () => {
  assert.equal(answerDns(Buffer.from([1, 2, 3]), zone), undefined);
  const response = dnsPacket.encode({ type: 'response', id: 1, questions: [{ type: 'A', name: 'world.test' }] });
  assert.equal(answerDns(response, zone), undefined);
});

test('opcodes other than QUERY are NOTIMP', () => {
  const r = ask('world.test', 'A', 2 << 11); // opcode STATUS
  assert.equal((r as unknown as { rcode: string }).rcode, 'NOTIMP');
});
