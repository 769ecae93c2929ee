import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkHostGateway, hostsFile, resolvConf } from './etc-files.js';

test('hosts: fixed entries, --add-host, link lines, then the container itself last (Docker\'s order)', () => {
  const text = hostsFile({ ipv4: '172.17.0.3', hostname: 'abc123' }, ['db:10.0.0.9'], ['172.17.0.2\talias a0eaab7cacca apache2']);
  const lines = text.trimEnd().split('\n');
  assert.equal(lines[0], '127.0.0.1\tlocalhost');
  assert.deepEqual(lines.slice(-3), ['10.0.0.9\tdb', '172.17.0.2\talias a0eaab7cacca apache2', '172.17.0.3\tabc123']);
});

test('resolv.conf drops loopback nameservers and lets --dns, --dns-search, --dns-option replace parts', () => {
  const host = 'nameserver 127.0.0.53\nnameserver 203.0.113.1\nsearch example.test\noptions edns0\n';
  assert.equal(resolvConf(host, { dns: [], search: [], options: [] }), 'nameserver 203.0.113.1\nsearch example.test\noptions edns0\n');
  assert.equal(resolvConf(host, { dns: ['198.51.100.53'], search: ['a.test'], options: ['ndots:2'] }), 'nameserver 198.51.100.53\nsearch a.test\noptions ndots:2\n');
});

test('hosts: --add-host NAME:host-gateway is the gateway address; NAME=IP is accepted as Docker 25+ does', () => {
  const text = hostsFile({ hostname: 'h' }, ['gw:host-gateway', 'v6:::1', 'eq=10.0.0.1'], [], ['172.17.0.1']);
  assert.deepEqual(text.trimEnd().split('\n').slice(-3), ['172.17.0.1\tgw', '::1\tv6', '10.0.0.1\teq']);
});

test('host-gateway with no address to stand for is dockerd\'s 500 "unable to derive the IP value for host-gateway"', () => {
  const refused = (e: Error & { kind?: string; code?: string }): boolean =>
    e.message === 'unable to derive the IP value for host-gateway' && e.kind === 'internal' && e.code === 'container.host_gateway';
  assert.throws(() => checkHostGateway(['db:10.0.0.9', 'gw:host-gateway'], []), refused);
  assert.throws(() => checkHostGateway(['gw=host-gateway'], []), refused);
  assert.throws(() => hostsFile({ hostname: 'h' }, ['gw:host-gateway'], [], []), refused);
  assert.doesNotThrow(() => checkHostGateway(['db:10.0.0.9', 'gw:host-gateway'], ['172.17.0.1']));
  assert.doesNotThrow(() => checkHostGateway(['db:10.0.0.9', 'host-gateway:10.0.0.1'], []));
});
