import { test } from 'node:test';
import assert from 'node:assert/strict';
import { endpointExtras, endpointExtrasProblems, linkLocalCidr } from './endpoint-extras.js';

const SYSCTLS = 'com.docker.network.endpoint.sysctls';

test('link-local IPs: libnetwork masks, Docker\'s text for a bad one', () => {
  assert.equal(linkLocalCidr('169.254.7.7'), '169.254.7.7/16');
  assert.equal(linkLocalCidr('fe80::77'), 'fe80::77/64');
  assert.deepEqual(endpointExtrasProblems({ linkLocalIps: ['169.254.1.1', 'fe80::1', 'nope', '0.0.0.0'] }), [
    'invalid link-local IP address: nope',
    'invalid link-local IP address: 0.0.0.0',
  ]);
});

test('endpoint sysctls: Docker\'s shape (net.X.Y.IFNAME.Z=V), X ipv4/ipv6/mpls, never a path outside /proc/sys/net', () => {
  const ok = 'net.ipv4.conf.IFNAME.forwarding=1,net.ipv6.conf.ifname.accept_ra=2';
  assert.deepEqual(endpointExtrasProblems({ driverOpts: { [SYSCTLS]: ok } }), []);
  assert.deepEqual(endpointExtras({ ipamConfig: { linkLocalIps: ['169.254.1.1'] }, driverOpts: { [SYSCTLS]: ok } }, 'eth1'), {
    addresses: ['169.254.1.1/16'],
    sysctls: [['net/ipv4/conf/eth1/forwarding', '1'], ['net/ipv6/conf/eth1/accept_ra', '2']],
  });
  for (const bad of ['net.ipv4.conf.eth0.forwarding=1', 'net.ipx.conf.IFNAME.forwarding=1', 'kernel.x.y.IFNAME.z=1', 'net.ipv4.conf.IFNAME.forwarding', 'net.ipv4.../IFNAME.x=1', 'net.ipv4.conf.IFNAME../../x=1']) {
    const [p] = endpointExtrasProblems({ driverOpts: { [SYSCTLS]: bad } });
    assert.equal(p, `unrecognised network interface sysctl '${bad}'; represent 'net.X.Y.ethN.Z=V' as 'net.X.Y.IFNAME.Z=V', 'X' must be 'ipv4', 'ipv6' or 'mpls'`);
  }
});
