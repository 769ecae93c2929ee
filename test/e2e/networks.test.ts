// The networks API end to end: the stock docker CLI against redesd in one sandbox for the whole file,
// checking the CLI's exact output and the kernel state (`ip -json`, `nft -j`) after each step.
// Tests run in order and build on each other (the seed networks are made once). Restart and crash
// cases are in networks-restart.test.ts.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startSandbox, nftRules, nftRuleText, nftSetElements, type IpLink, type Sandbox } from '../helpers/sandbox.js';
import { apiRequest } from '../helpers/engine-api.js';

let sb: Sandbox;
before(async () => {
  sb = await startSandbox();
});
after(() => sb?.down());

interface Inspect {
  Name: string;
  Id: string;
  Created: string;
  Scope: string;
  Driver: string;
  EnableIPv4: boolean;
  EnableIPv6: boolean;
  Internal: boolean;
  Attachable: boolean;
  Ingress: boolean;
  ConfigOnly: boolean;
  IPAM: { Driver: string; Config: Array<{ Subnet: string; Gateway?: string }> };
  Containers: Record<string, unknown>;
  Options: Record<string, string>;
  Labels: Record<string, string>;
}

const lines = (s: string): string[] => s.split('\n').filter(Boolean);
const bridgeOf = (id: string): string => `br-${id.slice(0, 12)}`;

async function create(args: string[]): Promise<string> {
  const { stdout } = await sb.docker(['network', 'create', ...args]);
  assert.match(stdout, /^[0-9a-f]{64}\n$/);
  return stdout.trim();
}

async function inspect(name: string): Promise<Inspect> {
  const all = JSON.parse((await sb.docker(['network', 'inspect', name])).stdout) as Inspect[];
  assert.equal(all.length, 1);
  return all[0] as Inspect;
}

async function link(ifname: string): Promise<IpLink | undefined> {
  return (await sb.ipJson(['-details', 'addr', 'show'])).find((l) => l.ifname === ifname);
}

/** Asserts that `ifname` is an UP bridge holding exactly the address `cidr` (IPv4). */
async function assertBridge(ifname: string, cidr: string): Promise<void> {
  const l = await link(ifname);
  assert.ok(l, `bridge ${ifname} exists`);
  assert.equal(l.linkinfo?.info_kind, 'bridge');
  assert.ok(l.flags.includes('UP'), `${ifname} is UP: ${l.flags.join(',')}`);
  const v4 = (l.addr_info ?? []).filter((a) => a.family === 'inet').map((a) => `${a.local}/${a.prefixlen}`);
  assert.deepEqual(v4, [cidr]);
}

async function ruleTexts(chain: string): Promise<string[]> {
  return nftRules(await sb.nftJson()).filter((r) => r.chain === chain).map(nftRuleText);
}

const masquerade = (subnet: string, bridge: string): string => `ip saddr == ${subnet} ; oifname != ${bridge} ; masquerade`;
/** Isolation between bridge networks is one rule over the set of our bridges (each bridge is an element). */
const ISOLATION = 'iifname == @bridges ; oifname == @bridges ; drop';

const ids = { red_prueba1: '', red_prueba2: '', e2eauto: '', e2eint: '', e2enamed: '', e2elab: '' };

test('network ls on a fresh engine lists exactly bridge, host and none', async () => {
  const out = lines((await sb.docker(['network', 'ls'])).stdout);
  assert.match(out[0] ?? '', /^NETWORK ID +NAME +DRIVER +SCOPE$/);
  const rows = out.slice(1).map((l) => l.trim().split(/ +/));
  assert.deepEqual(rows.map((r) => r.slice(1)), [['bridge', 'bridge', 'local'], ['host', 'host', 'local'], ['none', 'null', 'local']]);
  for (const r of rows) assert.match(r[0] ?? '', /^[0-9a-f]{12}$/);
  await assertBridge('docker0', '172.17.0.1/16');
  assert.ok((await ruleTexts('postrouting')).includes(masquerade('172.17.0.0/16', 'docker0')));
});

test('docker version and docker info exit 0 and report API 1.50', async () => {
  assert.equal((await sb.docker(['version', '--format', '{{.Server.APIVersion}}'])).stdout, '1.50\n');
  assert.equal((await sb.docker(['info', '--format', '{{.OSType}}'])).stdout, 'linux\n');
  assert.equal((await sb.docker(['version'])).code, 0);
  assert.equal((await sb.docker(['info'])).code, 0);
});

test("docker info's cgroup version and IPv4 forwarding are the sandbox host's; bridge-nf fields as Docker 28", async () => {
  const info = (await sb.docker(['info', '--format', '{{.CgroupVersion}} {{.IPv4Forwarding}}'])).stdout.trim();
  const fsType = (await sb.exec(['stat', '-f', '-c', '%T', '/sys/fs/cgroup'])).stdout.trim();
  const forwarding = (await sb.exec(['cat', '/proc/sys/net/ipv4/ip_forward'])).stdout.trim() === '1';
  assert.equal(info, `${fsType === 'cgroup2fs' ? '2' : '1'} ${forwarding}`);
  // The engine host routes for its containers, so forwarding is on there.
  assert.match(info, /^[12] true$/);
  // Docker 28 omits BridgeNfIptables/BridgeNfIp6tables from API 1.50 on and says false to older clients.
  const now = JSON.parse((await apiRequest(sb.socket, 'GET', '/v1.50/info')).body) as Record<string, unknown>;
  const old = JSON.parse((await apiRequest(sb.socket, 'GET', '/v1.49/info')).body) as Record<string, unknown>;
  assert.deepEqual([now.BridgeNfIptables, now.BridgeNfIp6tables, old.BridgeNfIptables, old.BridgeNfIp6tables], [undefined, undefined, false, false]);
});

test('API: /_ping, HEAD /_ping, version prefixes, unknown paths, malformed JSON', async () => {
  for (const method of ['GET', 'HEAD']) {
    const r = await apiRequest(sb.socket, method, '/_ping');
    assert.equal(r.status, 200);
    assert.equal(r.body, method === 'GET' ? 'OK' : '');
    assert.equal(r.headers['api-version'], '1.50');
    assert.equal(r.headers['ostype'], 'linux');
    assert.equal(r.headers['docker-experimental'], 'false');
  }
  const old = await apiRequest(sb.socket, 'GET', '/v1.24/networks');
  assert.equal(old.status, 200);
  assert.deepEqual(old.json<Array<{ Name: string }>>().map((n) => n.Name).sort(), ['bridge', 'host', 'none']);

  const tooNew = await apiRequest(sb.socket, 'GET', '/v1.99/networks');
  assert.equal(tooNew.status, 400);
  assert.deepEqual(tooNew.json(), { message: 'client version 1.99 is too new. Maximum supported API version is 1.50' });

  const missing = await apiRequest(sb.socket, 'GET', '/v1.50/no/such/path');
  assert.equal(missing.status, 404);
  assert.deepEqual(missing.json(), { message: 'page not found' });

  const bad = await apiRequest(sb.socket, 'POST', '/networks/create', { body: '{"Name": "x",' });
  assert.equal(bad.status, 400);
  assert.match(bad.json<{ message: string }>().message, /^invalid JSON/);

  // The daemon checks what the CLI checks itself (a gateway outside the subnet), with Docker's text.
  const gw = await apiRequest(sb.socket, 'POST', '/networks/create', {
    body: { Name: 'e2egw', IPAM: { Config: [{ Subnet: '10.1.2.0/24', Gateway: '10.1.3.1' }] } },
  });
  assert.equal(gw.status, 400);
  assert.deepEqual(gw.json(), { message: "invalid network config:\ninvalid gateway 10.1.3.1: parent subnet 10.1.2.0/24 doesn't contain this address" });
});

test('the seed networks: create, inspect, and their bridges and rules', async () => {
  ids.red_prueba1 = await create(['--driver=bridge', '--subnet=10.1.1.0/24', '--gateway=10.1.1.254', 'red_prueba1']);
  ids.red_prueba2 = await create(['--subnet=192.168.10.0/24', '--gateway=192.168.10.254', 'red_prueba2']);

  const n = await inspect('red_prueba1');
  assert.equal(n.Id, ids.red_prueba1);
  assert.ok(Math.abs(Date.parse(n.Created) - Date.now()) < 60_000, `Created ${n.Created}`);
  assert.deepEqual(
    { ...n, Created: undefined, Id: undefined },
    {
      Name: 'red_prueba1', Id: undefined, Created: undefined, Scope: 'local', Driver: 'bridge', EnableIPv4: true, EnableIPv6: false,
      IPAM: { Driver: 'default', Options: {}, Config: [{ Subnet: '10.1.1.0/24', Gateway: '10.1.1.254' }] },
      Internal: false, Attachable: false, Ingress: false, ConfigFrom: { Network: '' }, ConfigOnly: false,
      Containers: {}, Options: {}, Labels: {},
    },
  );
  const cfg = await sb.docker(['network', 'inspect', '-f', '{{json .IPAM.Config}}', 'red_prueba1']);
  assert.equal(cfg.stdout, '[{"Subnet":"10.1.1.0/24","Gateway":"10.1.1.254"}]\n');
  const cfg2 = await sb.docker(['network', 'inspect', '-f', '{{json .IPAM.Config}}', 'red_prueba2']);
  assert.equal(cfg2.stdout, '[{"Subnet":"192.168.10.0/24","Gateway":"192.168.10.254"}]\n');

  const [b1, b2] = [bridgeOf(ids.red_prueba1), bridgeOf(ids.red_prueba2)];
  await assertBridge(b1, '10.1.1.254/24');
  await assertBridge(b2, '192.168.10.254/24');
  const table = await sb.nftJson();
  assert.deepEqual(nftSetElements(table, 'bridges').sort(), [b1, b2, 'docker0'].sort());
  const post = await ruleTexts('postrouting');
  assert.ok(post.includes(masquerade('10.1.1.0/24', b1)), post.join('\n'));
  assert.ok(post.includes(masquerade('192.168.10.0/24', b2)), post.join('\n'));
  const fwd = await ruleTexts('forward');
  assert.ok(fwd.includes(ISOLATION), `isolation:\n${fwd.join('\n')}`);
  const names = (await sb.docker(['network', 'ls', '--format', '{{.Name}}'])).stdout;
  assert.equal(names, 'bridge\nhost\nnone\nred_prueba1\nred_prueba2\n');
});

test('a network without a subnet gets 172.18.0.0/16 first', async () => {
  ids.e2eauto = await create(['e2eauto']);
  const cfg = await sb.docker(['network', 'inspect', '-f', '{{json .IPAM.Config}}', 'e2eauto']);
  assert.equal(cfg.stdout, '[{"Subnet":"172.18.0.0/16","Gateway":"172.18.0.1"}]\n');
  await assertBridge(bridgeOf(ids.e2eauto), '172.18.0.1/16');
  assert.ok((await ruleTexts('postrouting')).includes(masquerade('172.18.0.0/16', bridgeOf(ids.e2eauto))));
});

test('--internal: no masquerade, nothing in or out of the bridge', async () => {
  ids.e2eint = await create(['--internal', 'e2eint']);
  const n = await inspect('e2eint');
  assert.equal(n.Internal, true);
  assert.deepEqual(n.IPAM.Config, [{ Subnet: '172.19.0.0/16', Gateway: '172.19.0.1' }]);
  const b = bridgeOf(ids.e2eint);
  await assertBridge(b, '172.19.0.1/16');
  const post = await ruleTexts('postrouting');
  assert.deepEqual(post.filter((r) => r.includes(b) || r.includes('172.19.0.0/16')), []);
  const fwd = await ruleTexts('forward');
  assert.ok(nftSetElements(await sb.nftJson(), 'internal').includes(b), 'the bridge is in the set of internal bridges');
  assert.ok(fwd.includes('iifname == @internal ; drop'), fwd.join('\n'));
  assert.ok(fwd.includes('oifname == @internal ; drop'), fwd.join('\n'));
});

test('-o com.docker.network.bridge.name names the bridge', async () => {
  ids.e2enamed = await create(['-o', 'com.docker.network.bridge.name=e2ebr0', 'e2enamed']);
  const n = await inspect('e2enamed');
  assert.equal(n.Options['com.docker.network.bridge.name'], 'e2ebr0');
  await assertBridge('e2ebr0', '172.20.0.1/16');
  assert.equal(await link(bridgeOf(ids.e2enamed)), undefined);
  assert.ok((await ruleTexts('postrouting')).includes(masquerade('172.20.0.0/16', 'e2ebr0')));
});

test('labels and the ls filters: label, name, driver, type, -q', async () => {
  ids.e2elab = await create(['--label', 'env=e2e', '--label', 'solo', 'e2elab']);
  assert.deepEqual((await inspect('e2elab')).Labels, { env: 'e2e', solo: '' });
  const ls = async (...args: string[]): Promise<string[]> => lines((await sb.docker(['network', 'ls', ...args])).stdout);
  const short = ids.e2elab.slice(0, 12);
  assert.deepEqual(await ls('-q', '-f', 'label=env=e2e'), [short]);
  assert.deepEqual(await ls('-q', '-f', 'label=solo'), [short]);
  assert.deepEqual(await ls('-q', '-f', 'label=env=other'), []);
  const names = (...f: string[]): Promise<string[]> => ls('--format', '{{.Name}}', ...f);
  assert.deepEqual(await names('-f', 'name=red_prueba'), ['red_prueba1', 'red_prueba2']);
  assert.deepEqual(await names('-f', 'driver=null'), ['none']);
  assert.deepEqual(await names('-f', 'driver=host'), ['host']);
  assert.deepEqual(await names('-f', 'type=builtin'), ['bridge', 'host', 'none']);
  assert.deepEqual(await names('-f', 'type=custom'), ['e2eauto', 'e2eint', 'e2elab', 'e2enamed', 'red_prueba1', 'red_prueba2']);
  const q = await ls('-q');
  assert.equal(q.length, 9);
  for (const id of q) assert.match(id, /^[0-9a-f]{12}$/);
  assert.ok(q.includes(short));
  const full = await ls('-q', '--no-trunc', '-f', 'name=^red_prueba1$');
  assert.deepEqual(full, [ids.red_prueba1]);
});

test('network rm removes the bridge and its rules', async () => {
  const b = bridgeOf(ids.e2elab);
  assert.ok(await link(b));
  assert.equal((await sb.docker(['network', 'rm', 'e2elab'])).stdout, 'e2elab\n');
  assert.equal(await link(b), undefined);
  const table = await sb.nftJson();
  assert.ok(!nftSetElements(table, 'bridges').includes(b));
  const mine = nftRules(table).filter((r) => r.comment === ids.e2elab.slice(0, 12) || nftRuleText(r).includes(b));
  assert.deepEqual(mine, []);
  assert.deepEqual(lines((await sb.docker(['network', 'ls', '-q', '-f', 'name=e2elab'])).stdout), []);
});

/** Each case: docker argv, then the exact stderr (stdout is empty unless given) and exit code 1. */
const ERROR_CASES: Array<{ what: string; args: string[]; stderr: string; stdout?: string }> = [
  { what: 'duplicate name', args: ['network', 'create', 'red_prueba1'], stderr: 'Error response from daemon: network with name red_prueba1 already exists\n' },
  { what: 'overlapping subnet', args: ['network', 'create', '--subnet=10.1.1.0/25', 'e2eover'], stderr: 'Error response from daemon: invalid pool request: Pool overlaps with other one on this address space\n' },
  { what: 'unparsable subnet', args: ['network', 'create', '--subnet=10.1.1.300/24', 'e2ebad'], stderr: 'Error response from daemon: invalid network config:\ninvalid subnet 10.1.1.300/24: invalid CIDR block notation\n' },
  { what: 'subnet with host bits', args: ['network', 'create', '--subnet=10.1.2.1/24', 'e2ebad'], stderr: 'Error response from daemon: invalid network config:\ninvalid subnet 10.1.2.1/24: it should be 10.1.2.0/24\n' },
  // The CLI itself refuses this one before asking the daemon (the API case is tested above).
  { what: 'gateway outside the subnet', args: ['network', 'create', '--subnet=10.1.2.0/24', '--gateway=10.1.3.1', 'e2ebad'], stderr: 'no matching subnet for gateway 10.1.3.1\n' },
  { what: 'unknown driver', args: ['network', 'create', '-d', 'foo', 'e2ebad'], stderr: 'Error response from daemon: plugin "foo" not found\n' },
  // `network rm` prints each failure, then the CLI's own "exit status 1".
  { what: 'rm bridge', args: ['network', 'rm', 'bridge'], stderr: 'Error response from daemon: bridge is a pre-defined network and cannot be removed\nexit status 1\n' },
  { what: 'rm of a missing network', args: ['network', 'rm', 'nosuch'], stderr: 'Error response from daemon: network nosuch not found\nexit status 1\n' },
  // dockerd checks predefined names before looking for duplicates (daemon/network.go createNetwork);
  // the client trims the message's trailing space.
  { what: 'create named bridge', args: ['network', 'create', 'bridge'], stderr: 'Error response from daemon: operation is not permitted on predefined bridge network\n' },
  { what: 'create named host', args: ['network', 'create', 'host'], stderr: 'Error response from daemon: operation is not permitted on predefined host network\n' },
  { what: 'create named default', args: ['network', 'create', 'default'], stderr: 'Error response from daemon: operation is not permitted on predefined default network\n' },
  { what: 'a second host network', args: ['network', 'create', '-d', 'host', 'e2ehost2'], stderr: 'Error response from daemon: only one instance of "host" network is allowed\n' },
  { what: 'inspect of a missing network', args: ['network', 'inspect', 'nosuch'], stdout: '[]\n', stderr: 'Error response from daemon: network nosuch not found\n' },
  { what: 'unknown filter key', args: ['network', 'ls', '-f', 'foo=bar'], stderr: "Error response from daemon: invalid filter 'foo'\n" },
];

test('errors: Docker CLI output and exit code 1, and nothing created', async (t) => {
  const before = (await sb.docker(['network', 'ls', '-q', '--no-trunc'])).stdout;
  const linksBefore = (await sb.ipJson(['link', 'show'])).map((l) => l.ifname).sort();
  for (const c of ERROR_CASES) {
    await t.test(c.what, async () => {
      const r = await sb.docker(c.args, { allowFail: true });
      assert.deepEqual({ code: r.code, stdout: r.stdout, stderr: r.stderr }, { code: 1, stdout: c.stdout ?? '', stderr: c.stderr });
    });
  }
  assert.equal((await sb.docker(['network', 'ls', '-q', '--no-trunc'])).stdout, before);
  assert.deepEqual((await sb.ipJson(['link', 'show'])).map((l) => l.ifname).sort(), linksBefore);
});

test('network prune -f removes every custom network, prints their names, keeps the predefined', async () => {
  const custom = lines((await sb.docker(['network', 'ls', '--format', '{{.Name}}', '-f', 'type=custom'])).stdout);
  assert.ok(custom.length >= 4, custom.join(','));
  const r = await sb.docker(['network', 'prune', '-f']);
  const out = r.stdout.split('\n');
  assert.equal(out[0], 'Deleted Networks:');
  assert.deepEqual(out.slice(-2), ['', '']);
  assert.deepEqual(out.slice(1, -2).sort(), custom);
  assert.equal((await sb.docker(['network', 'ls', '--format', '{{.Name}}'])).stdout, 'bridge\nhost\nnone\n');
  const bridges = (await sb.ipJson(['-details', 'link', 'show'])).filter((l) => l.linkinfo?.info_kind === 'bridge').map((l) => l.ifname);
  assert.deepEqual(bridges, ['docker0']);
  assert.deepEqual(nftSetElements(await sb.nftJson(), 'bridges'), ['docker0']);
  // Nothing left to prune: the CLI prints nothing.
  assert.equal((await sb.docker(['network', 'prune', '-f'])).stdout, '');
});

test('down leaves nothing of the sandbox behind', async () => {
  await sb.down();
});
