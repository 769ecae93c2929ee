import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parsePortKey, parsePortRequests, PortAllocator } from './ports.js';

test('port keys: single, protocol, range; bad ones get Docker-like errors', () => {
  assert.deepEqual(parsePortKey('80'), [80, 80, 'tcp']);
  assert.deepEqual(parsePortKey('53/udp'), [53, 53, 'udp']);
  assert.deepEqual(parsePortKey('8000-8010/tcp'), [8000, 8010, 'tcp']);
  assert.throws(() => parsePortKey('abc/tcp'), /invalid containerPort: abc/);
  assert.throws(() => parsePortKey('80/xyz'), /invalid proto: xyz/);
  assert.throws(() => parsePortKey('70000'), /invalid containerPort/);
});

test('every -p form as the docker CLI sends it', () => {
  const r = parsePortRequests({
    '80/tcp': [{ HostIp: '', HostPort: '8080' }, { HostIp: '127.0.0.1', HostPort: '8081' }, { HostIp: '127.0.0.1', HostPort: '' }],
    '53/udp': [{ HostIp: '', HostPort: '5353' }],
    '90/tcp': [{ HostIp: '', HostPort: '9000-9010' }],
    '443/tcp': [{ HostIp: '[2001:db8::1]', HostPort: '8443' }],
  }, {}, false);
  assert.deepEqual(r.map((x) => [x.key, x.hostIp, x.hostPortStart, x.hostPortEnd]), [
    ['80/tcp', '', 8080, 8080], ['80/tcp', '127.0.0.1', 8081, 8081], ['80/tcp', '127.0.0.1', 0, 0],
    ['53/udp', '', 5353, 5353], ['90/tcp', '', 9000, 9010], ['443/tcp', '2001:db8::1', 8443, 8443],
  ]);
  assert.throws(() => parsePortRequests({ '80/tcp': [{ HostPort: 'x' }] }, {}, false), /invalid hostPort: x/);
});

test('-P publishes exposed ports without a binding on random ports; a range key maps one to one', () => {
  const r = parsePortRequests({ '80/tcp': [{ HostPort: '8080' }] }, { '80/tcp': {}, '90/tcp': {} }, true);
  assert.deepEqual(r.map((x) => [x.key, x.hostPortStart]), [['80/tcp', 8080], ['90/tcp', 0]]);
  const range = parsePortRequests({ '30000-30002/tcp': [{ HostPort: '40000-40002' }] }, {}, false);
  assert.deepEqual(range.map((x) => [x.containerPort, x.hostPortStart, x.hostPortEnd]), [[30000, 40000, 40000], [30001, 40001, 40001], [30002, 40002, 40002]]);
});

test('conflicts: same port, or any-address against one address; other family and protocol are free', () => {
  const a = new PortAllocator([40000, 40002]);
  a.allocate('c1', [{ proto: 'tcp', hostIp: '0.0.0.0', hostPortStart: 8080, hostPortEnd: 8080 }]);
  assert.throws(() => a.allocate('c2', [{ proto: 'tcp', hostIp: '0.0.0.0', hostPortStart: 8080, hostPortEnd: 8080 }]), /^Error: Bind for 0\.0\.0\.0:8080 failed: port is already allocated$|Bind for 0\.0\.0\.0:8080 failed: port is already allocated/);
  assert.throws(() => a.allocate('c2', [{ proto: 'tcp', hostIp: '127.0.0.1', hostPortStart: 8080, hostPortEnd: 8080 }]), /Bind for 127\.0\.0\.1:8080 failed: port is already allocated/);
  assert.deepEqual(a.allocate('c2', [{ proto: 'udp', hostIp: '0.0.0.0', hostPortStart: 8080, hostPortEnd: 8080 }]), [8080]);
  assert.deepEqual(a.allocate('c3', [{ proto: 'tcp', hostIp: '::', hostPortStart: 8080, hostPortEnd: 8080 }]), [8080]);
  assert.throws(() => a.allocate('c4', [{ proto: 'tcp', hostIp: '::1', hostPortStart: 8080, hostPortEnd: 8080 }]), /Bind for \[::1\]:8080 failed/);
  a.release('c1');
  assert.deepEqual(a.allocate('c4', [{ proto: 'tcp', hostIp: '127.0.0.1', hostPortStart: 8080, hostPortEnd: 8080 }]), [8080]);
});

test('random ports go in order through the range, skip taken ones, and run out with an error', () => {
  const a = new PortAllocator([40000, 40002]);
  const any = { proto: 'tcp', hostIp: '0.0.0.0', hostPortStart: 0, hostPortEnd: 0 } as const;
  a.reserve('old', [{ proto: 'tcp', hostIp: '0.0.0.0', hostPort: 40001 }]);
  assert.deepEqual(a.allocate('c1', [any, any]), [40000, 40002]);
  assert.throws(() => a.allocate('c2', [any]), /no available ports/);
  assert.deepEqual(a.bindingsOf('c2'), [], 'a failed allocation holds nothing');
});

test('a host range takes its first free port; all-or-nothing per container', () => {
  const a = new PortAllocator([40000, 40010]);
  a.allocate('c1', [{ proto: 'tcp', hostIp: '0.0.0.0', hostPortStart: 9000, hostPortEnd: 9000 }]);
  assert.deepEqual(a.allocate('c2', [{ proto: 'tcp', hostIp: '0.0.0.0', hostPortStart: 9000, hostPortEnd: 9002 }]), [9001]);
  assert.throws(() => a.allocate('c3', [
    { proto: 'tcp', hostIp: '0.0.0.0', hostPortStart: 7000, hostPortEnd: 7000 },
    { proto: 'tcp', hostIp: '0.0.0.0', hostPortStart: 9000, hostPortEnd: 9001 },
  ]), /Bind for 0\.0\.0\.0:9000-9001 failed/);
  assert.deepEqual(a.allocate('c4', [{ proto: 'tcp', hostIp: '0.0.0.0', hostPortStart: 7000, hostPortEnd: 7000 }]), [7000]);
});

test('host port "0" means any free port, as Docker takes it', () => {
  const [r] = parsePortRequests({ '80/tcp': [{ HostPort: '0' }] }, {}, false);
  assert.deepEqual([r?.hostPortStart, r?.hostPortEnd], [0, 0]);
});
