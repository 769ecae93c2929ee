// `redes doctor`: differences planted by hand behind the daemon's back (a stray veth, a stray nft
// element, an address no endpoint holds, a namespace, cgroup and directory nobody owns, an endpoint
// on a network that does not exist, a running container's interface deleted) are each listed, then
// `redes doctor --repair` fixes them and a second `redes doctor` finds nothing. One sandbox.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import Database from 'better-sqlite3';
import { startSandbox, cmd, REDES_BIN, type Sandbox } from '../helpers/sandbox.js';
import { apiRequest } from '../helpers/engine-api.js';
import { differences } from '../helpers/consistency.js';
import { containerNetns, runDetached } from '../helpers/containers.js';

let sb: Sandbox;
before(async () => {
  sb = await startSandbox(undefined, { prefix: 'doc' });
});
after(() => sb?.down());

const doctor = (args: string[] = []): ReturnType<typeof cmd> => cmd([REDES_BIN, 'doctor', '-H', sb.dockerHost, ...args], { allowFail: true, timeoutMs: 120_000 });
const hex = (n: number): string => 'ab'.repeat(n / 2);

test('a fresh daemon with a running container is consistent, and doctor exits 0', async () => {
  assert.equal((await sb.docker(['network', 'create', '--subnet', '10.66.0.0/24', 'dn'])).code, 0);
  await runDetached(sb, ['--name', 'web', '--net', 'dn', '-p', '8080:80', 'busybox', 'sleep', '3600']);
  await runDetached(sb, ['--name', 'two', '--net', 'dn', 'busybox', 'sleep', '3600']);
  assert.equal((await sb.docker(['create', '--name', 'idle', '--net', 'dn', 'busybox', 'true'])).code, 0);
  const r = await doctor();
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /^consistent/);
});

test('planted differences are listed one by one, then --repair fixes them all', async (t) => {
  const net = (await apiRequest(sb.socket, 'GET', '/v1.50/networks/dn')).json<{ Id: string }>();
  const two = (await apiRequest(sb.socket, 'GET', '/v1.50/containers/two/json')).json<{ Id: string }>();
  // A veth with our naming no endpoint uses; an nft map element; a namespace, a cgroup, a directory.
  await sb.exec(['ip', 'link', 'add', 'vethdead001', 'type', 'veth', 'peer', 'name', 'strayp']);
  await sb.exec(['nft', 'add', 'element', 'inet', sb.name, 'pubany4', '{ tcp . 9999 : 10.66.0.77 . 80 }']);
  await cmd(['ip', 'netns', 'add', `${sb.name}-c-${hex(12)}`]);
  await mkdir(`/sys/fs/cgroup/memory/${sb.name}/${hex(64)}`, { recursive: true });
  await mkdir(`/var/lib/redes/${sb.name}/containers/${'cd'.repeat(32)}/state`, { recursive: true });
  // An address held by no endpoint, and a created container's endpoint on a network that is gone.
  const db = new Database(`/var/lib/redes/${sb.name}/state.db`);
  try {
    db.prepare('INSERT INTO allocations (network_id, address, owner) VALUES (?, ?, ?)').run(net.Id, '10.66.0.200', hex(64));
    const row = db.prepare("SELECT id, doc FROM docs WHERE collection = 'containers'").all() as Array<{ id: string; doc: string }>;
    const idle = row.map((r) => ({ id: r.id, doc: JSON.parse(r.doc) as { name: string; endpoints: Record<string, { networkId: string }> } })).find((r) => r.doc.name === 'idle');
    assert.ok(idle);
    idle.doc.endpoints.gone = { ...(idle.doc.endpoints.dn as { networkId: string }), networkId: 'ef'.repeat(32) };
    db.prepare("UPDATE docs SET doc = ? WHERE collection = 'containers' AND id = ?").run(JSON.stringify(idle.doc), idle.id);
  } finally {
    db.close();
  }
  // A running container's interface removed behind the daemon's back.
  await cmd(['ip', '-n', containerNetns(sb, two.Id), 'link', 'del', 'eth0']);
  // web's layer-2 guard: its IPv4 element deleted (its port would drop web's own packets), a forged MAC added.
  const port = /"(veth[0-9a-f]{7})" \. 10\.66\.0\.2\b/.exec((await sb.exec(['nft', 'list', 'set', 'bridge', sb.name, 'l2ip4'])).stdout)?.[1];
  assert.ok(port, 'web\'s port is in the l2ip4 set');
  await sb.exec(['nft', 'delete', 'element', 'bridge', sb.name, 'l2ip4', `{ "${port}" . 10.66.0.2 }`]);
  await sb.exec(['nft', 'add', 'element', 'bridge', sb.name, 'l2mac', `{ "${port}" . 02:42:0a:42:00:99 }`]);

  const found = await differences(sb);
  const want: Array<[string, RegExp]> = [
    ['stray veth', /^veth vethdead001: no endpoint/],
    ['stray nft element', /^nft pubany4 element tcp \. 9999 : 10\.66\.0\.77 \. 80: in the kernel, not in the state/],
    ['stray netns', new RegExp(`^netns ${sb.name}-c-${hex(12)}: no running container owns it`)],
    ['stray cgroup', /^cgroup .*abababababab: container .* is not running/],
    ['stray directory', /^directory cdcdcdcdcdcd: no container owns it/],
    ['held address', /^address 10\.66\.0\.200: held by endpoint ababababab/],
    ['endpoint on a missing network', /^endpoint idle on gone: network efefefefefef does not exist/],
    ['missing interface', /^interface two eth0: missing for its endpoint on dn/],
    ['missing layer-2 element', /^l2 l2ip4 element veth[0-9a-f]{7} \. 10\.66\.0\.2: an endpoint's element missing in the kernel/],
    ['stray layer-2 element', /^l2 l2mac element veth[0-9a-f]{7} \. 02:42:0a:42:00:99: in the kernel, no running endpoint has it/],
  ];
  for (const [what, re] of want) assert.ok(found.some((d) => re.test(d)), `${what} not listed in:\n${found.join('\n')}`);
  const listed = await doctor();
  assert.equal(listed.code, 1, 'differences make doctor exit 1');
  assert.match(listed.stdout, /veth vethdead001: no endpoint of a running container uses it \[delete-link\]/);

  const fixed = await doctor(['--repair']);
  assert.equal(fixed.code, 0, fixed.stdout + fixed.stderr);
  const repaired = fixed.stdout.split('\n').filter((l) => l.startsWith('repaired: ')).map((l) => l.slice('repaired: '.length));
  // The container's interfaces are repaired as a whole (one line for the container).
  const fixes = want.map(([what, re]): [string, RegExp] => (what === 'missing interface' ? [what, /^interface two: interfaces and endpoints disagree \[reconcile\]/] : [what, re]));
  for (const [what, re] of fixes) assert.ok(repaired.some((l) => re.test(l)), `${what} not repaired:\n${fixed.stdout}`);
  const remaining = await differences(sb);
  t.diagnostic(`doctor: ${want.length} kinds of leak planted, ${want.filter(([, re]) => found.some((d) => re.test(d))).length} found, ${fixes.filter(([, re]) => repaired.some((l) => re.test(l))).length} repaired, ${remaining.length} left`);
  assert.deepEqual(remaining, []);
  // What the repair left running still works: the container that lost eth0 is off dn, web still serves.
  const two2 = (await apiRequest(sb.socket, 'GET', '/v1.50/containers/two/json')).json<{ State: { Running: boolean }; NetworkSettings: { Networks: Record<string, unknown> } }>();
  assert.equal(two2.State.Running, true);
  assert.deepEqual(Object.keys(two2.NetworkSettings.Networks), []);
  const idle = (await apiRequest(sb.socket, 'GET', '/v1.50/containers/idle/json')).json<{ NetworkSettings: { Networks: Record<string, unknown> } }>();
  assert.deepEqual(Object.keys(idle.NetworkSettings.Networks), ['dn']);
  const nft = await sb.exec(['nft', 'list', 'map', 'inet', sb.name, 'pubany4']);
  assert.match(nft.stdout, /tcp \. 8080 : 10\.66\.0\.2 \. 80/);
  assert.doesNotMatch(nft.stdout, /9999/);
  const l2 = await sb.exec(['nft', 'list', 'table', 'bridge', sb.name]);
  assert.match(l2.stdout, /10\.66\.0\.2/);
  assert.doesNotMatch(l2.stdout, /02:42:0a:42:00:99/);
  // The released address is free again: the network's next run may take it.
  assert.equal((await sb.docker(['run', '-d', '--name', 'pinned', '--net', 'dn', '--ip', '10.66.0.200', 'busybox', 'sleep', '60'])).code, 0);
  assert.deepEqual(await differences(sb), []);
});
