// Docker's rule for the gateway bridge (which containers get an endpoint on docker_gwbridge) and its
// one-time creation when several starts ask for it at once.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { NetworkCreateRequest, NetworkRecord } from '../networks/network-record.js';
import type { EndpointRecord } from './container-types.js';
import { GATEWAY_NETWORK, GATEWAY_NETWORK_OPTIONS, GatewayBridge, gatewayEndpointName, gatewayKey, needsGateway } from './gateway-bridge.js';

function net(id: string, over: { driver?: string; internal?: boolean; gatewayBridge?: boolean; attach?: 'interface' | 'host' | 'none' } = {}): NetworkRecord {
  return {
    id, name: id, driver: over.driver ?? 'bridge', scope: 'local', created: '', internal: over.internal ?? false, attachable: false,
    enableIPv4: true, enableIPv6: false, ipam: { driver: 'default', options: null }, options: {}, labels: {}, predefined: false,
    driverOptions: { attach: over.attach ?? 'interface', icc: true, reserved: {}, own: {}, ...(over.gatewayBridge ? { gatewayBridge: true } : {}) },
  };
}

function ep(networkId: string, sandboxGateway = false): EndpointRecord {
  return {
    networkId, networkName: networkId, endpointId: '', ipamConfig: {}, aliases: [], links: [], macAddress: '', ipv4Address: '', ipv4PrefixLen: 0,
    ipv4Gateway: '', ipv6Address: '', ipv6PrefixLen: 0, ipv6Gateway: '', ifname: '', hostIfname: '', dnsNames: [], ...(sandboxGateway ? { sandboxGateway } : {}),
  };
}

const nets = new Map<string, NetworkRecord>([
  ['ov', net('ov', { driver: 'overlay', gatewayBridge: true })],
  ['ovi', net('ovi', { driver: 'overlay', gatewayBridge: true, internal: true })],
  ['br', net('br')],
  ['bri', net('bri', { internal: true })],
  ['none', net('none', { driver: 'null', attach: 'none' })],
  [GATEWAY_NETWORK, net(GATEWAY_NETWORK)],
]);
const get = (id: string): NetworkRecord | undefined => nets.get(id);

test('an overlay-only container needs the gateway bridge; a network with its own way out makes it unneeded', () => {
  assert.equal(needsGateway({ ov: ep('ov') }, get), true);
  assert.equal(needsGateway({ ov: ep('ov'), bri: ep('bri') }, get), true, 'an internal bridge is no way out');
  assert.equal(needsGateway({ ov: ep('ov'), br: ep('br') }, get), false);
  assert.equal(needsGateway({ br: ep('br'), ov: ep('ov') }, get), false, 'order does not matter');
  assert.equal(needsGateway({ ovi: ep('ovi') }, get), false, 'an internal overlay needs no way out');
  assert.equal(needsGateway({ br: ep('br') }, get), false);
  assert.equal(needsGateway({ none: ep('none') }, get), false);
  assert.equal(needsGateway({}, get), false);
  // The gateway endpoint itself does not count as a way out.
  assert.equal(needsGateway({ ov: ep('ov'), [GATEWAY_NETWORK]: ep(GATEWAY_NETWORK, true) }, get), true);
  assert.equal(gatewayKey({ ov: ep('ov'), [GATEWAY_NETWORK]: ep(GATEWAY_NETWORK, true) }), GATEWAY_NETWORK);
  assert.equal(gatewayKey({ ov: ep('ov') }), undefined);
  assert.equal(gatewayEndpointName('0123456789abcdef0123'), 'gateway_0123456789ab');
});

test('concurrent starts make docker_gwbridge once, with Docker options; an existing one is used as it is', async () => {
  const made: NetworkCreateRequest[] = [];
  const list: NetworkRecord[] = [];
  const ctl = {
    async create(req: NetworkCreateRequest) {
      made.push(req);
      await new Promise((r) => setTimeout(r, 5));
      const n = net('gw1');
      list.push({ ...n, name: String(req.Name) });
      return { id: 'gw1' };
    },
    all: () => list,
    get: (id: string) => list.find((n) => n.id === id),
  };
  const gw = new GatewayBridge(ctl);
  const [a, b, c] = await Promise.all([gw.ensure(), gw.ensure(), gw.ensure()]);
  assert.equal(made.length, 1);
  assert.deepEqual(made[0], { Name: 'docker_gwbridge', Driver: 'bridge', Options: { ...GATEWAY_NETWORK_OPTIONS } });
  assert.equal(a.id, 'gw1');
  assert.equal(b.id, 'gw1');
  assert.equal(c.id, 'gw1');
  assert.equal((await gw.ensure()).id, 'gw1');
  assert.equal(made.length, 1);
});
