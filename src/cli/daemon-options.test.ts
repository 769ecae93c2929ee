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
});
