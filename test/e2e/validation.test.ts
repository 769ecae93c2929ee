// Bad input is the client's error (400, Docker's `{"message"}` shape) and reaches no kernel step:
// wrong JSON types, malformed MACs and host IPs, gateways on the network or broadcast address,
// subnets no host can use, a hostname too long for the kernel. After each refusal nothing is left
// (no bridge, no container), and the next network still gets a fresh subnet.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startSandbox, type Sandbox } from '../helpers/sandbox.js';
import { apiRequest, type ApiResponse } from '../helpers/engine-api.js';

let sb: Sandbox;
before(async () => {
  sb = await startSandbox(undefined, { prefix: 'val' });
});
after(() => sb?.down());

const api = (method: string, path: string, body?: unknown): Promise<ApiResponse> =>
  apiRequest(sb.socket, method, `/v1.50${path}`, body === undefined ? {} : { body });

async function bridges(): Promise<string[]> {
  return (await sb.ipJson(['link', 'show', 'type', 'bridge'])).map((l) => l.ifname).sort();
}

function assertRefused(r: ApiResponse, status: number, message: RegExp, what: string): void {
  assert.equal(r.status, status, `${what}: ${r.status} ${r.body}`);
  assert.equal(r.headers['content-type'], 'application/json', what);
  assert.match(r.json<{ message: string }>().message, message, what);
}

test('network create: bad IPAM types, gateways and subnets are 400 and leave no bridge', async () => {
  const before1 = await bridges();
  const cases: Array<[unknown, RegExp]> = [
    ['x', /field IPAM must be an object/],
    [{ Config: 'x' }, /field IPAM.Config must be an array/],
    [{ Config: [{ Subnet: 7 }] }, /field IPAM.Config\[0\].Subnet must be a string/],
    [{ Config: [{ Subnet: '10.5.0.0/24', Gateway: '10.5.0.0' }] }, /^failed to allocate gateway \(10\.5\.0\.0\): Address already in use$/],
    [{ Config: [{ Subnet: '10.5.0.0/24', Gateway: '10.5.0.255' }] }, /^failed to allocate gateway \(10\.5\.0\.255\): Address already in use$/],
    [{ Config: [{ Subnet: '224.0.0.0/24' }] }, /multicast addresses/],
    [{ Config: [{ Subnet: '127.0.0.0/24' }] }, /loopback addresses/],
    [{ Config: [{ Subnet: '169.254.0.0/24' }] }, /link-local addresses/],
    [{ Config: [{ Subnet: '203.0.113.0/24' }] }, /overlaps 203\.0\.113\.0\/24, a network the engine's host is on/],
  ];
  for (const [IPAM, message] of cases) {
    assertRefused(await api('POST', '/networks/create', { Name: 'bad', IPAM }), 400, message, JSON.stringify(IPAM));
  }
  const v6 = async (Subnet: string): Promise<ApiResponse> => api('POST', '/networks/create', { Name: 'bad6', EnableIPv6: true, IPAM: { Config: [{ Subnet }] } });
  assertRefused(await v6('ff02::/64'), 400, /^multicast subnet 'ff02::\/64' is not allowed$/, 'ff02::/64');
  assertRefused(await v6('::ffff:10.0.0.0/104'), 400, /is not a valid IPv6 subnet$/, 'v4-mapped');
  assertRefused(await v6('fe80::/80'), 400, /clashes with the Link-Local prefix 'fe80::\/64'$/, 'fe80::/80');
  assert.deepEqual(await bridges(), before1, 'no bridge left by a refused create');
  assert.deepEqual((await api('GET', '/networks')).json<Array<{ Name: string }>>().map((n) => n.Name).sort(), ['bridge', 'host', 'none']);
  // The automatic subnet after all this is the first one free, once.
  const a = await api('POST', '/networks/create', { Name: 'auto1' });
  const b = await api('POST', '/networks/create', { Name: 'auto2' });
  const subnet = async (n: string): Promise<string> => (await api('GET', `/networks/${n}`)).json<{ IPAM: { Config: Array<{ Subnet: string }> } }>().IPAM.Config[0]?.Subnet ?? '';
  assert.equal(a.status, 201);
  assert.equal(b.status, 201);
  assert.notEqual(await subnet('auto1'), await subnet('auto2'));
  for (const n of ['auto1', 'auto2']) assert.equal((await api('DELETE', `/networks/${n}`)).status, 204);
});

test('container create: wrong types, MACs, host IPs and hostnames are 400 and create nothing', async () => {
  const cases: Array<[Record<string, unknown>, RegExp]> = [
    [{ Env: 'A=1' }, /field Env must be a list of strings/],
    [{ Cmd: 5 }, /field Cmd must be a string or a list of strings/],
    [{ Tty: 'yes' }, /field Tty must be a boolean/],
    [{ HostConfig: { PortBindings: 'x' } }, /field HostConfig.PortBindings must be/],
    [{ HostConfig: { PortBindings: { '80/tcp': [{ HostPort: 8080 }] } } }, /field HostConfig.PortBindings must be/],
    [{ NetworkingConfig: { EndpointsConfig: [] } }, /field NetworkingConfig.EndpointsConfig must be/],
    [{ MacAddress: 'zz:zz' }, /^invalid MAC address: zz:zz$/],
    [{ NetworkingConfig: { EndpointsConfig: { bridge: { MacAddress: '02:42:ac:11:00' } } } }, /invalid MAC address/],
    [{ HostConfig: { PortBindings: { '80/tcp': [{ HostIp: 'abc', HostPort: '8080' }] } } }, /^invalid host IP: abc$/],
    [{ HostConfig: { PortBindings: { '80/tcp': [{ HostIp: 'localhost', HostPort: '8080' }] } } }, /^invalid host IP: localhost$/],
    [{ Hostname: 'h'.repeat(300) }, /longer than 64 characters/],
  ];
  for (const [extra, message] of cases) {
    assertRefused(await api('POST', '/containers/create', { Image: 'busybox', Cmd: ['true'], ...extra }), 400, message, JSON.stringify(extra).slice(0, 80));
  }
  assert.deepEqual((await api('GET', '/containers/json?all=1')).json<unknown[]>(), [], 'no container was created');
});

test('--platform: the local platform runs; another one is refused by name at run, create and pull, creating nothing', async () => {
  const ok = await sb.docker(['run', '--rm', '--platform', 'linux/amd64', 'busybox', 'true'], { allowFail: true });
  assert.equal(ok.code, 0, ok.stderr);
  for (const argv of [['run', '--rm', '--platform', 'linux/arm64', 'busybox', 'true'], ['create', '--platform', 'windows/amd64', 'busybox'], ['pull', '--platform', 'linux/arm64', 'busybox']]) {
    const r = await sb.docker(argv, { allowFail: true });
    assert.notEqual(r.code, 0, argv.join(' '));
    assert.match(r.stderr, /--platform (linux\/arm64|windows\/amd64) is not supported by this engine: it stores and runs linux\/amd64 images only/, argv.join(' '));
  }
  assert.deepEqual((await api('GET', '/containers/json?all=1')).json<unknown[]>(), [], 'no container was created');
});

test('a string Cmd is one word, as Docker reads it: start fails with 400 and the CLI exits 127', async () => {
  const cr = await api('POST', '/containers/create?name=strcmd', { Image: 'busybox', Cmd: 'echo hi' });
  assert.equal(cr.status, 201, cr.body);
  assert.deepEqual((await api('GET', '/containers/strcmd/json')).json<{ Config: { Cmd: string[] } }>().Config.Cmd, ['echo hi']);
  assertRefused(await api('POST', '/containers/strcmd/start'), 400, /executable file not found/, 'start');
  const run = await sb.docker(['run', '--rm', 'busybox', 'no-such-program'], { allowFail: true });
  assert.equal(run.code, 127, run.stderr);
  assert.equal((await api('DELETE', '/containers/strcmd')).status, 204);
});

test('a second rm -f of a container being removed is refused at once (409), the first completes', async () => {
  const cr = await api('POST', '/containers/create?name=twice', { Image: 'busybox', Cmd: ['sleep', '3600'] });
  assert.equal((await api('POST', '/containers/twice/start')).status, 204, cr.body);
  const first = api('DELETE', '/containers/twice?force=1');
  await new Promise((r) => setTimeout(r, 30));
  const second = await api('DELETE', '/containers/twice?force=1');
  assert.ok([204, 404, 409].includes(second.status), `${second.status} ${second.body}`);
  if (second.status === 409) assert.match(second.body, /removal of container twice is already in progress/);
  assert.equal((await first).status, 204);
  assert.equal((await api('GET', '/containers/twice/json')).status, 404);
});
