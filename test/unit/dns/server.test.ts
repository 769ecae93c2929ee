import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { run } from '../../../src/kernel/run.js';
import { netnsAdd, netnsDelete, netnsPath } from '../../../src/kernel/netns.js';
import { dnsQuery } from '../../helpers/dns-probe.js';
import { EmbeddedDns } from '../../../src/dns/server.js';

// The server is tried in a throwaway namespace (never the machine's own): its sockets are made there
// by the addon and the client runs there under nsenter. Forwarding is covered end to end (e2e/dns).
test('answers local names over UDP and TCP in the namespace, SERVFAIL without upstream, silence after forget', async (t) => {
  const name = `rtdv${randomBytes(4).toString('hex')}`;
  t.after(() => netnsDelete(name));
  await netnsAdd(name);
  await run(['ip', '-n', name, 'link', 'set', 'lo', 'up']);
  const dns = new EmbeddedDns({ upstreamTimeoutMs: 200 });
  t.after(() => dns.close());
  dns.records.setContainer('asker', [{ containerId: 'asker', networkId: 'n1', networkName: 'net1', names: ['asker'], ipv4: '10.9.0.2' }]);
  dns.records.setContainer('peer', [{ containerId: 'peer', networkId: 'n1', networkName: 'net1', names: ['peer', 'svc'], ipv4: '10.9.0.3' }]);
  dns.setView('asker', { networkIds: ['n1'], links: new Map([['db', 'peer']]), upstream: [] });
  await dns.attach('asker', netnsPath(name));
  await dns.attach('asker', netnsPath(name)); // again: nothing changes
  assert.deepEqual((await dnsQuery(name, 'svc')).answers, ['10.9.0.3']);
  assert.deepEqual((await dnsQuery(name, 'db', { tcp: true })).answers, ['10.9.0.3']);
  assert.deepEqual((await dnsQuery(name, '3.0.9.10.in-addr.arpa', { type: 'PTR' })).answers, ['peer.net1']);
  assert.equal((await dnsQuery(name, 'world.test')).rcode, 'SERVFAIL');
  dns.records.deleteContainer('peer');
  assert.equal((await dnsQuery(name, 'svc')).rcode, 'SERVFAIL', 'gone at once, and not ours to answer any more');
  dns.forget('asker');
  assert.equal(dns.isAttached('asker'), false);
  await assert.rejects(dnsQuery(name, 'asker'));
});
