import { test } from 'node:test';
import assert from 'node:assert/strict';
import { linkEnv, linkHostsLines, parseLink, replaceLinkHostsLines } from './link-env.js';
import { splitStoredLink } from './link-hooks.js';

const target = { name: 'apache2', hostname: '0123456789ab', ipv4: '172.17.0.2', env: ['PATH=/bin', 'HOME=/', 'A=b=c'], exposedPorts: ['80/tcp'] };

test('the variables of one exposed port, the name and the target environment, in Docker order', () => {
  assert.deepEqual(linkEnv('/apache3/alias-apache2', target), [
    'ALIAS_APACHE2_PORT=tcp://172.17.0.2:80',
    'ALIAS_APACHE2_PORT_80_TCP=tcp://172.17.0.2:80',
    'ALIAS_APACHE2_PORT_80_TCP_ADDR=172.17.0.2',
    'ALIAS_APACHE2_PORT_80_TCP_PORT=80',
    'ALIAS_APACHE2_PORT_80_TCP_PROTO=tcp',
    'ALIAS_APACHE2_NAME=/apache3/alias-apache2',
    'ALIAS_APACHE2_ENV_A=b=c',
  ]);
});

test('contiguous ports get the _START/_END range variables; tcp sorts before udp; lowest port is the default', () => {
  const env = linkEnv('/p/db', { ...target, env: [], exposedPorts: ['8002/tcp', '53/udp', '8000/tcp', '8001/tcp', '53/tcp'] });
  assert.equal(env[0], 'DB_PORT=tcp://172.17.0.2:53');
  assert.deepEqual(env.filter((e) => /_(START|END)=/.test(e)), [
    'DB_PORT_8000_TCP_START=tcp://172.17.0.2:8000', 'DB_PORT_8000_TCP_PORT_START=8000',
    'DB_PORT_8000_TCP_END=tcp://172.17.0.2:8002', 'DB_PORT_8000_TCP_PORT_END=8002',
  ]);
  assert.ok(env.includes('DB_PORT_53_UDP=udp://172.17.0.2:53'));
});

test('hosts lines and link specs', () => {
  assert.deepEqual(linkHostsLines('alias_apache2', target), ['172.17.0.2\talias_apache2 0123456789ab apache2']);
  assert.deepEqual(linkHostsLines('apache2', { ...target, ipv6: 'fd00::2' }), ['172.17.0.2\tapache2 0123456789ab', 'fd00::2\tapache2 0123456789ab']);
  assert.deepEqual(parseLink('/apache2:alias'), { name: 'apache2', alias: 'alias' });
  assert.deepEqual(parseLink('apache2'), { name: 'apache2', alias: 'apache2' });
  assert.equal(parseLink('a:b:c'), undefined);
  assert.deepEqual(splitStoredLink('/apache2:/apache3/alias_apache2'), { target: 'apache2', parent: 'apache3', alias: 'alias_apache2' });
});

test('a link target back with a new address: only the lines of that link change, in place', () => {
  const before = '127.0.0.1\tlocalhost\n172.17.0.3\tparent\n172.17.0.2\tweb 0123456789ab apache2\n172.17.0.4\tdb 99\n';
  assert.equal(replaceLinkHostsLines(before, 'web', { ...target, ipv4: '172.17.0.9' }),
    '127.0.0.1\tlocalhost\n172.17.0.3\tparent\n172.17.0.9\tweb 0123456789ab apache2\n172.17.0.4\tdb 99\n');
  const v6 = replaceLinkHostsLines('a\tb\n172.17.0.2\tweb 0123456789ab apache2\nfd00::2\tweb 0123456789ab apache2\n', 'web',
    { ...target, ipv4: '172.17.0.5', ipv6: 'fd00::5' });
  assert.equal(v6, 'a\tb\n172.17.0.5\tweb 0123456789ab apache2\nfd00::5\tweb 0123456789ab apache2\n');
  assert.equal(replaceLinkHostsLines('a\tb\n', 'web', target), 'a\tb\n172.17.0.2\tweb 0123456789ab apache2\n', 'missing lines are appended');
});
