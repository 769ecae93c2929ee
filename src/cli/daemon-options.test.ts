import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DAEMON_USAGE, parseDaemonOptions, type DaemonOptions } from './daemon-options.js';

const parse = (argv: string[]): DaemonOptions => {
  const o = parseDaemonOptions(argv);
  assert.notEqual(o, 'help');
  return o as DaemonOptions;
};

test('defaults follow the prefix; the DNS upstream timeout is 1000 ms', () => {
  const o = parse(['--prefix', 'abc']);
  assert.equal(o.socketPath, '/run/redes/abc/docker.sock');
  assert.equal(o.dataRoot, '/var/lib/redes/abc');
  assert.equal(o.dnsUpstreamTimeoutMs, 1000);
  assert.equal(o.iptables, true);
  assert.equal(o.icc, true);
  assert.equal(o.runcPrivateMounts, true);
});

test('--dns-upstream-timeout takes whole milliseconds, in both flag forms', () => {
  assert.equal(parse(['--dns-upstream-timeout', '250']).dnsUpstreamTimeoutMs, 250);
  assert.equal(parse(['--dns-upstream-timeout=3000']).dnsUpstreamTimeoutMs, 3000);
  for (const bad of ['0', '-5', '1.5', 'fast', '', '60001']) {
    assert.throws(() => parseDaemonOptions([`--dns-upstream-timeout=${bad}`]), /invalid --dns-upstream-timeout/, bad);
  }
  assert.match(DAEMON_USAGE, /--dns-upstream-timeout MS/);
});

test('dockerd-style booleans and help', () => {
  const o = parse(['--iptables=false', '--icc=false', '-D']);
  assert.equal(o.iptables, false);
  assert.equal(o.icc, false);
  assert.equal(o.logLevel, 'debug');
  assert.equal(parseDaemonOptions(['-h']), 'help');
  assert.throws(() => parseDaemonOptions(['--iptables=maybe']), /invalid value "maybe" for --iptables/);
  assert.equal(parse(['--runc-private-mounts=false']).runcPrivateMounts, false);
  assert.match(DAEMON_USAGE, /--runc-private-mounts=false/);
});

test('--cluster-store: etcd endpoints, cluster id, advertise address and TLS files', () => {
  const o = parse([
    '--cluster-store', 'etcd://198.51.100.11:2379,198.51.100.12:2379/lab',
    '--cluster-advertise', '198.51.100.13',
    '--cluster-store-opt', 'kv.cacertfile=/c/ca.crt', '--cluster-store-opt', 'kv.certfile=/c/n.crt', '--cluster-store-opt', 'kv.keyfile=/c/n.key',
  ]);
  assert.deepEqual(o.clusterStore, {
    endpoints: ['https://198.51.100.11:2379', 'https://198.51.100.12:2379'],
    clusterId: 'lab',
    advertise: '198.51.100.13',
    tls: { ca: '/c/ca.crt', cert: '/c/n.crt', key: '/c/n.key' },
    shown: { store: 'etcd://198.51.100.11:2379,198.51.100.12:2379/lab', advertise: '198.51.100.13' },
  });
  assert.deepEqual(parse(['--cluster-store', 'etcd://h1:2379', '--cluster-advertise', '10.0.0.1']).clusterStore, {
    endpoints: ['http://h1:2379'],
    clusterId: 'default',
    advertise: '10.0.0.1',
    shown: { store: 'etcd://h1:2379', advertise: '10.0.0.1' },
  });
  // Docker's form with a port: the address is used, the flag shown as given.
  const withPort = parse(['--cluster-store', 'etcd://h1:2379', '--cluster-advertise', '10.0.0.1:2376']).clusterStore;
  assert.equal(withPort?.advertise, '10.0.0.1');
  assert.equal(withPort?.shown.advertise, '10.0.0.1:2376');
  assert.equal(parse(['--cluster-store', 'etcd://h1:2379', '--cluster-advertise', '[fd00::1]:2376']).clusterStore?.advertise, 'fd00::1');
  for (const bad of ['eth0:2376', '10.0.0.1:99999', '10.0.0', 'fd00::1:2376:x']) {
    assert.throws(() => parse(['--cluster-store', 'etcd://h1:2379', '--cluster-advertise', bad]), /invalid --cluster-advertise/, bad);
  }
  assert.throws(() => parse(['--cluster-store', 'consul://h1:8500', '--cluster-advertise', '10.0.0.1']), /invalid --cluster-store/);
  assert.throws(() => parse(['--cluster-store', 'etcd://h1:2379']), /needs --cluster-advertise/);
  assert.throws(() => parse(['--cluster-advertise', '10.0.0.1']), /need --cluster-store/);
  assert.throws(() => parse(['--cluster-store', 'etcd://h1:2379', '--cluster-advertise', '10.0.0.1', '--cluster-store-opt', 'kv.path=/x']), /invalid --cluster-store-opt/);
  assert.throws(() => parse(['--hostname', 'a b']), /invalid --hostname/);
});

test('-H: one unix socket plus tcp listeners; tcp needs mutual TLS or --insecure-tcp', () => {
  const tlsFlags = ['--tlsverify', '--tlscacert', 'ca.pem', '--tlscert', 'cert.pem', '--tlskey', 'key.pem'];
  const o = parse(['-H', 'unix:///tmp/x.sock', '-H', 'tcp://10.0.0.1:2376', ...tlsFlags]);
  assert.equal(o.socketPath, '/tmp/x.sock');
  assert.deepEqual(o.tcp, [{ address: '10.0.0.1', port: 2376 }]);
  assert.deepEqual(o.tls, { ca: 'ca.pem', cert: 'cert.pem', key: 'key.pem' });
  assert.equal(o.socketGroup, 'docker');
  assert.deepEqual(parse(['-H=tcp://[::1]:2375', '--insecure-tcp']).tcp, [{ address: '::1', port: 2375 }]);
  assert.throws(() => parse(['-H', 'tcp://10.0.0.1:2376']), /refusing to listen on tcp:\/\/ without TLS.*--insecure-tcp/);
  assert.throws(() => parse(['-H', 'tcp://10.0.0.1:2376', '--tlsverify', '--tlscacert', 'ca.pem']), /--tlsverify needs --tlscacert, --tlscert and --tlskey/);
  assert.throws(() => parse(['--tlscert', 'cert.pem']), /need --tlsverify/);
  assert.throws(() => parse(['-H', 'tcp://example.com:2376', '--insecure-tcp']), /invalid -H/);
  assert.throws(() => parse(['-H', 'tcp://10.0.0.1:0', '--insecure-tcp']), /invalid -H/);
  assert.throws(() => parse(['-H', 'unix:///a', '-H', 'unix:///b']), /only one unix/);
  assert.equal(parse(['--group', 'redesapi']).socketGroup, 'redesapi');
  assert.throws(() => parse(['--group', '../x']), /invalid --group/);
});

test('--host-gateway-ip: one IPv4 and one IPv6 at most, dockerd\'s texts', () => {
  assert.equal(parse([]).hostGatewayIps, undefined);
  assert.deepEqual(parse(['--host-gateway-ip', '203.0.113.7', '--host-gateway-ip=FD00:0:0::7']).hostGatewayIps, ['203.0.113.7', 'fd00::7']);
  assert.throws(() => parseDaemonOptions(['--host-gateway-ip', '10.0.0.1', '--host-gateway-ip', '10.0.0.2']), /^Error: only one IPv4 host gateway IP address can be specified$/);
  assert.throws(() => parseDaemonOptions(['--host-gateway-ip', 'fd00::1', '--host-gateway-ip', 'fd00::2']), /^Error: only one IPv6 host gateway IP address can be specified$/);
  assert.throws(() => parseDaemonOptions(['--host-gateway-ip', 'gw.example']), /invalid argument "gw.example" for "--host-gateway-ip" flag/);
  assert.match(DAEMON_USAGE, /--host-gateway-ip IP/);
});

test('--log-driver and --log-opt give the containers\' defaults, checked as a LogConfig', () => {
  const o = parseDaemonOptions(['--log-opt', 'max-size=10m', '--log-opt', 'max-file=3']);
  assert.ok(o !== 'help');
  assert.deepEqual(o.logDefaults, { Type: 'json-file', Config: { 'max-size': '10m', 'max-file': '3' } });
  const n = parseDaemonOptions(['--log-driver', 'none']);
  assert.ok(n !== 'help');
  assert.deepEqual(n.logDefaults, { Type: 'none', Config: {} });
  assert.throws(() => parseDaemonOptions(['--log-opt', 'foo=1']), /unknown log opt 'foo' for json-file log driver/);
  assert.throws(() => parseDaemonOptions(['--log-opt', 'max-size=abc']), /invalid size: 'abc'/);
  assert.throws(() => parseDaemonOptions(['--log-opt', 'nokey']), /want KEY=VALUE/);
});

test('--wireguard-go: the absolute path of the userspace WireGuard, absent by default', () => {
  assert.equal(parse([]).wireguardGo, undefined);
  assert.equal(parse(['--wireguard-go', '/opt/wg/wireguard-go']).wireguardGo, '/opt/wg/wireguard-go');
  assert.equal(parse(['--wireguard-go=/usr/local/bin/wireguard-go']).wireguardGo, '/usr/local/bin/wireguard-go');
  for (const bad of ['wireguard-go', '', 'bin/wireguard-go', '/usr/bin/']) {
    assert.throws(() => parseDaemonOptions([`--wireguard-go=${bad}`]), /invalid --wireguard-go .*: want the absolute path of a program/, bad);
  }
  assert.match(DAEMON_USAGE, /--wireguard-go PATH/);
});
