import { test } from 'node:test';
import assert from 'node:assert/strict';
import { effectiveParent, parseMacvlanOptions, parseVlanParent, privateParentName } from './options.js';
import { MacvlanDriver } from './macvlan-driver.js';
import { shimName } from './shim.js';
import type { DriverNetwork } from '../driver.js';
import type { MacvlanOptions } from './options.js';

const ID_A = 'a'.repeat(64);
const ID_B = 'b'.repeat(64);

test('defaults: bridge mode, no parent; the private parent is dm-<12 hex of the id>', () => {
  assert.deepEqual(parseMacvlanOptions({}), { parent: '', mode: 'bridge' });
  assert.deepEqual(parseMacvlanOptions({ parent: 'eth1', macvlan_mode: 'private' }), { parent: 'eth1', mode: 'private' });
  assert.equal(privateParentName(ID_A), 'dm-aaaaaaaaaaaa');
  assert.equal(effectiveParent({ parent: '', mode: 'bridge' }, ID_A), 'dm-aaaaaaaaaaaa');
  assert.equal(effectiveParent({ parent: 'eth1', mode: 'bridge' }, ID_A), 'eth1');
  for (const mode of ['bridge', 'private', 'vepa', 'passthru']) assert.equal(parseMacvlanOptions({ macvlan_mode: mode }).mode, mode);
});

test("Docker's texts for a bad mode and a loopback parent; unsafe names are refused", () => {
  assert.throws(() => parseMacvlanOptions({ macvlan_mode: 'l2' }), {
    message: "requested macvlan mode 'l2' is not valid, 'bridge' mode is the macvlan driver default",
  });
  assert.throws(() => parseMacvlanOptions({ parent: 'lo' }), { message: 'loopback interface is not a valid macvlan parent link' });
  for (const bad of ['eth 1', 'a/b', 'x'.repeat(16), '-eth']) {
    assert.throws(() => parseMacvlanOptions({ parent: bad }), /invalid parent interface name/);
  }
});

test('a missing parent is checked as a VLAN sub-interface, in Docker order and with its texts', () => {
  const has = (b: string): boolean => b === 'eth1';
  assert.deepEqual(parseVlanParent('eth1.10', has), { base: 'eth1', vid: 10 });
  assert.throws(() => parseVlanParent('eth9', has), { message: 'invalid subinterface vlan name eth9, example formatting is eth0.10' });
  assert.throws(() => parseVlanParent('eth1.1.2', has), {
    message: 'required interface name format is: name.vlan_id, ex. eth0.10 for vlan 10, instead received eth1.1.2',
  });
  assert.throws(() => parseVlanParent('eth1.x', has), { message: 'unable to parse a valid vlan id from: x (ex. eth0.10 for vlan 10)' });
  assert.throws(() => parseVlanParent('eth9.10', has), { message: '-o parent interface was not found on the host: eth9' });
  assert.throws(() => parseVlanParent('eth1.4095', has), { message: 'vlan id must be between 1-4094, received: 4095' });
  assert.throws(() => parseVlanParent('eth1.0', has), { message: 'vlan id must be between 1-4094, received: 0' });
});

const net = (id: string, raw: Record<string, string>): DriverNetwork<MacvlanOptions> => ({
  id,
  name: `n-${id.slice(0, 4)}`,
  internal: false,
  enableIPv4: true,
  enableIPv6: false,
  options: new MacvlanDriver().parseOptions(raw).options,
});

test('passthru takes a parent alone, with Docker texts both ways; other modes share it', () => {
  const d = new MacvlanDriver();
  assert.deepEqual(d.parseOptions({ parent: 'eth1' }).shown, { parent: 'eth1' });
  assert.deepEqual(d.parseOptions({ parent: 'eth1', 'redes.macvlan.host_shim': '198.51.100.9' }).options.reserved, { host_shim: '198.51.100.9' });
  d.checkCreate(net(ID_B, { parent: 'eth1', macvlan_mode: 'private' }), [net(ID_A, { parent: 'eth1' })]);
  d.checkCreate(net(ID_B, { parent: 'eth1', macvlan_mode: 'passthru' }), [net(ID_A, { parent: 'eth2' })]);
  assert.throws(() => d.checkCreate(net(ID_B, { parent: 'eth1', macvlan_mode: 'passthru' }), [net(ID_A, { parent: 'eth1' })]), {
    kind: 'forbidden',
    message: `cannot use mode passthru, macvlan network ${ID_A} is already using parent interface eth1`,
  });
  assert.throws(() => d.checkCreate(net(ID_B, { parent: 'eth1' }), [net(ID_A, { parent: 'eth1', macvlan_mode: 'passthru' })]), {
    message: `macvlan network ${ID_A} is already using parent interface eth1 in mode passthru`,
  });
  // Parent-less networks each have their own private parent.
  d.checkCreate(net(ID_B, { macvlan_mode: 'passthru' }), [net(ID_A, { macvlan_mode: 'passthru' })]);
});

test('host shim option: one IPv4 address, parent and bridge mode required; the shim is mvs-<8 hex>', () => {
  const k = 'redes.macvlan.host_shim';
  assert.deepEqual(parseMacvlanOptions({ parent: 'eth1', [k]: '198.51.100.254' }), { parent: 'eth1', mode: 'bridge', hostShim: '198.51.100.254' });
  for (const bad of ['198.51.100.254/32', 'fd00::1', '1.2.3', 'x', '']) {
    assert.throws(() => parseMacvlanOptions({ parent: 'eth1', [k]: bad }), { kind: 'invalid-parameter', message: new RegExp(`^invalid ${k.replace(/\./g, '\\.')} `) });
  }
  assert.throws(() => parseMacvlanOptions({ [k]: '10.0.0.9' }), /needs -o parent/);
  assert.throws(() => parseMacvlanOptions({ parent: 'eth1', macvlan_mode: 'private', [k]: '10.0.0.9' }), /works only with macvlan_mode bridge/);
  assert.equal(shimName(ID_A), 'mvs-aaaaaaaa');
});

test('host shim address: inside the subnet, not the gateway, network, broadcast or another network shim', () => {
  const k = 'redes.macvlan.host_shim';
  const d = new MacvlanDriver();
  const v4 = { subnet: '198.51.100.0/24', gateway: '198.51.100.1', auxAddresses: {} };
  const withShim = (id: string, a: string): DriverNetwork<MacvlanOptions> => ({ ...net(id, { parent: 'eth1', [k]: a }), ipv4: v4 });
  d.checkCreate(withShim(ID_B, '198.51.100.254'), [withShim(ID_A, '198.51.100.253')]);
  const cases: Array<[string, RegExp]> = [
    ['10.0.0.1', /is not in the network's subnet 198\.51\.100\.0\/24$/],
    ['198.51.100.1', /is the network's gateway$/],
    ['198.51.100.0', /is the network or broadcast address/],
    ['198.51.100.255', /is the network or broadcast address/],
  ];
  for (const [a, re] of cases) assert.throws(() => d.checkCreate(withShim(ID_B, a), []), { kind: 'invalid-parameter', message: re });
  assert.throws(() => d.checkCreate(withShim(ID_B, '198.51.100.253'), [withShim(ID_A, '198.51.100.253')]), {
    kind: 'forbidden',
    message: `${k} 198.51.100.253 is already the host shim of macvlan network ${ID_A}`,
  });
  assert.throws(() => d.checkCreate(net(ID_B, { parent: 'eth1', [k]: '198.51.100.9' }), []), /needs an IPv4 subnet/);
});
