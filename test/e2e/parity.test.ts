// Docker 28's answers where redes used to give its own: any network name, the bridge's one subnet per
// family, network lists without Containers, connecting a host-mode container, --host-gateway-ip, the
// exec events of health probes. The stock docker CLI
// against redesd in one sandbox for the file, statuses read with raw API requests; the kernel is checked
// with `ip -json` (no device, address or rule ever carries a network's name).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startSandbox, type Sandbox } from '../helpers/sandbox.js';
import { apiRequest } from '../helpers/engine-api.js';
import { differences } from '../helpers/consistency.js';
import { containerNetns, inspectContainer, ipIn, lines, runDetached } from '../helpers/containers.js';

let sb: Sandbox;
before(async () => {
  sb = await startSandbox(undefined, { prefix: 'par', daemonArgs: ['--host-gateway-ip=203.0.113.77', '--host-gateway-ip=fd00::77'] });
});
after(() => sb?.down());

const T = { timeoutMs: 30_000 };

async function fails(args: string[]): Promise<[number, string]> {
  const r = await sb.docker(args, { ...T, allowFail: true });
  assert.notEqual(r.code, 0, `docker ${args.join(' ')} should fail:\n${r.stdout}`);
  return [r.code, r.stderr];
}

test('network names: Docker takes any name but a blank one; devices are named after the id', async () => {
  const names = ['bad name!', 'ñ/ü', 'a+b', '__proto__', 'toString', 'x/connect'];
  const ids = new Map<string, string>(); // not a plain object: one of the names is __proto__
  for (const n of names) ids.set(n, (await sb.docker(['network', 'create', n], T)).stdout.trim());
  const listed = lines((await sb.docker(['network', 'ls', '--format', '{{.Name}}'])).stdout);
  for (const n of names) assert.ok(listed.includes(n), `${n} listed in ${JSON.stringify(listed)}`);
  // A slash in the name is one path segment for inspect, connect and rm, as for dockerd's routes.
  assert.equal((await sb.docker(['network', 'inspect', '-f', '{{.Id}} {{.Name}}', 'ñ/ü'])).stdout, `${ids.get('ñ/ü')} ñ/ü\n`);
  assert.equal((await sb.docker(['network', 'inspect', '-f', '{{.Name}}', '__proto__'])).stdout, '__proto__\n');
  const bridges = (await sb.ipJson(['link', 'show', 'type', 'bridge'])).map((l) => l.ifname);
  for (const n of names) assert.ok(bridges.includes(`br-${ids.get(n)?.slice(0, 12)}`), `bridge of ${n}`);

  // Containers on them: endpoint maps keyed by these names keep every entry.
  const c = await runDetached(sb, ['--name', 'named', '--network', 'ñ/ü', 'busybox', 'sleep', '3600']);
  for (const n of ['__proto__', 'toString', 'bad name!', 'x/connect']) await sb.docker(['network', 'connect', n, 'named'], T);
  const nets = (await inspectContainer(sb, 'named')).NetworkSettings.Networks;
  assert.deepEqual(Object.keys(nets).sort(), ['__proto__', 'bad name!', 'toString', 'x/connect', 'ñ/ü']);
  const links = await ipIn(containerNetns(sb, c), ['addr', 'show']);
  assert.deepEqual(links.map((l) => l.ifname).sort(), ['eth0', 'eth1', 'eth2', 'eth3', 'eth4', 'lo']);
  const netInspect = JSON.parse((await sb.docker(['network', 'inspect', '-f', '{{json .Containers}}', '__proto__'])).stdout) as Record<string, { Name: string }>;
  assert.deepEqual(Object.values(netInspect).map((x) => x.Name), ['named']);
  await sb.docker(['network', 'disconnect', '__proto__', 'named'], T);
  await sb.docker(['network', 'disconnect', 'x/connect', 'named'], T);
  assert.deepEqual(Object.keys((await inspectContainer(sb, 'named')).NetworkSettings.Networks).sort(), ['bad name!', 'toString', 'ñ/ü']);
  await sb.docker(['rm', '-f', 'named'], T);

  // A name equal to another network's id prefix is a name; lookups take an exact name before a prefix.
  const prefix = ids.get('a+b')?.slice(0, 12) ?? '';
  const shadow = (await sb.docker(['network', 'create', prefix], T)).stdout.trim();
  assert.equal((await sb.docker(['network', 'inspect', '-f', '{{.Id}}', prefix])).stdout.trim(), shadow);
  await sb.docker(['network', 'rm', prefix], T);

  // Blank names: libnetwork's 400.
  const blank = await apiRequest(sb.socket, 'POST', '/networks/create', { body: { Name: '  ' } });
  assert.deepEqual([blank.status, blank.json<{ message: string }>().message], [400, 'invalid name: name is empty']);
  assert.deepEqual(await fails(['network', 'create', ' ']), [1, 'Error response from daemon: invalid name: name is empty\n']);

  for (const n of names) await sb.docker(['network', 'rm', n], T);
  const left = (await sb.ipJson(['link', 'show', 'type', 'bridge'])).map((l) => l.ifname);
  for (const n of names) assert.ok(!left.includes(`br-${ids.get(n)?.slice(0, 12)}`), `bridge of ${n} removed`);
});

test('two subnets of one family on a bridge: 403 "bridge driver doesn\'t support multiple subnets"', async () => {
  assert.deepEqual(await fails(['network', 'create', '--subnet', '10.50.1.0/24', '--subnet', '10.50.2.0/24', 'two4']), [
    1, "Error response from daemon: bridge driver doesn't support multiple subnets\n",
  ]);
  const r = await apiRequest(sb.socket, 'POST', '/networks/create', {
    body: { Name: 'two6', EnableIPv6: true, IPAM: { Config: [{ Subnet: 'fd50:1::/64' }, { Subnet: 'fd50:2::/64' }] } },
  });
  assert.deepEqual([r.status, r.json<{ message: string }>().message], [403, "bridge driver doesn't support multiple subnets"]);
  // Nothing was made: no network, no bridge with either subnet.
  assert.deepEqual(lines((await sb.docker(['network', 'ls', '--filter', 'name=two', '--format', '{{.Name}}'])).stdout), []);
  const addrs = (await sb.ipJson(['addr', 'show'])).flatMap((l) => (l.addr_info ?? []).map((a) => a.local));
  assert.ok(!addrs.some((a) => a.startsWith('10.50.') || a.startsWith('fd50:')), addrs.join(' '));
});

test('GET /networks leaves Containers empty; inspect fills it', async () => {
  await sb.docker(['network', 'create', 'listed'], T);
  const id = await runDetached(sb, ['--name', 'lister', '--network', 'listed', 'busybox', 'sleep', '3600']);
  const list = (await apiRequest(sb.socket, 'GET', '/v1.50/networks')).json<Array<{ Name: string; Containers: Record<string, unknown> }>>();
  const entry = list.find((n) => n.Name === 'listed');
  assert.deepEqual(entry?.Containers, {});
  const one = (await apiRequest(sb.socket, 'GET', '/v1.50/networks/listed')).json<{ Containers: Record<string, unknown> }>();
  assert.deepEqual(Object.keys(one.Containers), [id]);
  await sb.docker(['rm', '-f', 'lister'], T);
  await sb.docker(['network', 'rm', 'listed'], T);
});

test('docker network connect bridge <host-mode container>: the shared-namespace text, 400', async () => {
  const id = await runDetached(sb, ['--name', 'hostmode', '--net=host', 'busybox', 'sleep', '3600']);
  const text = 'container sharing network namespace with another container or host cannot be connected to any other network';
  assert.deepEqual(await fails(['network', 'connect', 'bridge', 'hostmode']), [1, `Error response from daemon: ${text}\n`]);
  const r = await apiRequest(sb.socket, 'POST', '/v1.50/networks/bridge/connect', { body: { Container: id } });
  assert.deepEqual([r.status, r.json<{ message: string }>().message], [400, text]);
  assert.deepEqual(Object.keys((await inspectContainer(sb, 'hostmode')).NetworkSettings.Networks), ['host']);
  await sb.docker(['rm', '-f', 'hostmode'], T);
});

test('--host-gateway-ip: host-gateway in --add-host is that address, one line per family', async () => {
  const r = await sb.docker(['run', '--rm', '--add-host', 'gw:host-gateway', '--add-host', 'db=10.0.0.9', 'busybox', 'cat', '/etc/hosts'], T);
  const hosts = lines(r.stdout);
  for (const l of ['203.0.113.77\tgw', 'fd00::77\tgw', '10.0.0.9\tdb']) assert.ok(hosts.includes(l), `${l} in\n${r.stdout}`);
  const bridgeGw = (await sb.docker(['network', 'inspect', '-f', '{{(index .IPAM.Config 0).Gateway}}', 'bridge'])).stdout.trim();
  assert.ok(!hosts.some((l) => l.startsWith(`${bridgeGw}\t`)), r.stdout);
});

interface EventLine {
  Action: string;
  Actor: { ID: string; Attributes: Record<string, string> };
}

test('health probes are execs: exec_create, exec_start, exec_die with one execID each, as dockerd emits them', async () => {
  const since = Math.floor(Date.now() / 1000) - 1;
  const id = await runDetached(sb, ['--name', 'probed', '--health-cmd', 'exit 0', '--health-interval', '1s', 'busybox', 'sleep', '3600']);
  const health = async (): Promise<string> => (await sb.docker(['inspect', '-f', '{{.State.Health.Status}}', 'probed'])).stdout.trim();
  for (let i = 0; i < 60 && (await health()) !== 'healthy'; i++) await new Promise((r) => setTimeout(r, 500));
  assert.equal(await health(), 'healthy');
  await sb.docker(['rm', '-f', 'probed'], T);
  const until = Math.ceil(Date.now() / 1000) + 1;
  const out = await sb.docker(['events', '--since', String(since), '--until', String(until), '--filter', `container=${id}`, '--format', '{{json .}}'], T);
  const events = lines(out.stdout).map((l) => JSON.parse(l) as EventLine);
  const byExec = new Map<string, string[]>();
  for (const e of events) {
    const execID = e.Actor.Attributes.execID;
    if (!execID) continue;
    assert.equal(e.Actor.ID, id);
    assert.equal(e.Actor.Attributes.name, 'probed');
    byExec.set(execID, [...(byExec.get(execID) ?? []), e.Action === 'exec_die' ? `exec_die ${e.Actor.Attributes.exitCode}` : e.Action]);
  }
  const probes = [...byExec.values()];
  assert.ok(probes.length >= 1, JSON.stringify(events.map((e) => e.Action)));
  // The probe that made it healthy ended before the health_status event; later ones may be cut by rm.
  assert.deepEqual(probes[0], ['exec_create: /bin/sh -c exit 0', 'exec_start: /bin/sh -c exit 0', 'exec_die 0']);
  for (const p of probes) assert.deepEqual(p.slice(0, 2), ['exec_create: /bin/sh -c exit 0', 'exec_start: /bin/sh -c exit 0']);
  const actions = events.map((e) => e.Action);
  assert.ok(actions.indexOf('exec_die') < actions.indexOf('health_status: healthy'), actions.join('\n'));
});

test('endpoint LinkLocalIPs and the sysctls driver option: kernel state in the container, shown by inspect; ifname refused by key', async () => {
  await sb.docker(['network', 'create', 'llnet'], T);
  await sb.docker(['network', 'create', 'llnet2'], T);
  const sysctl = (name: string): string => `com.docker.network.endpoint.sysctls=net.ipv4.conf.IFNAME.${name}=1`;
  const id = await runDetached(sb, ['--name', 'll', '--network', `name=llnet,link-local-ip=169.254.7.7,"driver-opt=${sysctl('log_martians')}"`, 'busybox', 'sleep', '3600']);
  await sb.docker(['network', 'connect', '--link-local-ip', 'fe80::77', '--driver-opt', sysctl('accept_local'), 'llnet2', 'll'], T);
  const ns = containerNetns(sb, id);
  const addrs = (await ipIn(ns, ['addr', 'show'])).flatMap((l) => (l.addr_info ?? []).map((a) => `${l.ifname} ${a.local}/${a.prefixlen}`));
  assert.ok(addrs.includes('eth0 169.254.7.7/16'), addrs.join('\n'));
  assert.ok(addrs.includes('eth1 fe80::77/64'), addrs.join('\n'));
  const read = async (k: string): Promise<string> => (await sb.docker(['exec', 'll', 'cat', `/proc/sys/net/ipv4/conf/${k}`], T)).stdout.trim();
  assert.deepEqual([await read('eth0/log_martians'), await read('eth1/log_martians'), await read('eth1/accept_local'), await read('eth0/accept_local')], ['1', '0', '1', '0']);
  const nets = (await inspectContainer(sb, 'll')).NetworkSettings.Networks as unknown as Record<string, { IPAMConfig: unknown; DriverOpts: unknown }>;
  assert.deepEqual(nets.llnet?.IPAMConfig, { LinkLocalIPs: ['169.254.7.7'] });
  // The CLI lower-cases driver options (hence dockerd's 'ifname' as well as 'IFNAME').
  assert.deepEqual(nets.llnet?.DriverOpts, { 'com.docker.network.endpoint.sysctls': 'net.ipv4.conf.ifname.log_martians=1' });
  assert.deepEqual(nets.llnet2?.IPAMConfig, { LinkLocalIPs: ['fe80::77'] });
  // The doctor counts the link-local addresses as the endpoint's own.
  assert.deepEqual(await differences(sb), []);

  // Docker's other endpoint options (ifname) are refused by key; a bad sysctl gets Docker's text.
  await sb.docker(['network', 'disconnect', 'llnet2', 'll'], T);
  const [, other] = await fails(['network', 'connect', '--driver-opt', 'com.docker.network.endpoint.ifname=data0', 'llnet2', 'll']);
  assert.match(other, /DriverOpts is not supported by this engine: the endpoint driver option "com\.docker\.network\.endpoint\.ifname" is not supported/);
  assert.deepEqual(await fails(['network', 'connect', '--driver-opt', 'com.docker.network.endpoint.sysctls=net.ipv4.conf.eth0.forwarding=1', 'llnet2', 'll']), [
    1, "Error response from daemon: invalid endpoint settings:\nunrecognised network interface sysctl 'net.ipv4.conf.eth0.forwarding=1'; represent 'net.X.Y.ethN.Z=V' as 'net.X.Y.IFNAME.Z=V', 'X' must be 'ipv4', 'ipv6' or 'mpls'\n",
  ]);
  assert.deepEqual((await ipIn(ns, ['link', 'show'])).map((l) => l.ifname).sort(), ['eth0', 'lo']);
  await sb.docker(['rm', '-f', 'll'], T);
  await sb.docker(['network', 'rm', 'llnet', 'llnet2'], T);
});
