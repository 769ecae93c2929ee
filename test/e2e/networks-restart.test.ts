// Networks survive the daemon: kill -9, kernel state changed behind its back, restart. And a create
// the kernel refuses half way leaves nothing. One sandbox for the file; tests run in order.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startSandbox, nftRules, nftRuleText, nftSetElements, type IpLink, type NftJson, type Sandbox } from '../helpers/sandbox.js';

let sb: Sandbox;
before(async () => {
  sb = await startSandbox();
});
after(() => sb?.down());

const lines = (s: string): string[] => s.split('\n').filter(Boolean);
const bridgeOf = (id: string): string => `br-${id.slice(0, 12)}`;

async function inspectAll(): Promise<unknown[]> {
  const ids = lines((await sb.docker(['network', 'ls', '-q', '--no-trunc'])).stdout);
  return JSON.parse((await sb.docker(['network', 'inspect', ...ids])).stdout) as unknown[];
}

async function links(): Promise<IpLink[]> {
  return sb.ipJson(['-details', 'addr', 'show']);
}

function v4(l: IpLink | undefined): string[] {
  return (l?.addr_info ?? []).filter((a) => a.family === 'inet').map((a) => `${a.local}/${a.prefixlen}`);
}

/** The table without handles: its set and its rules as text, in order, per chain. */
function tableShape(t: NftJson | undefined): { bridges: string[]; rules: string[] } {
  return { bridges: nftSetElements(t, 'bridges').sort(), rules: nftRules(t).map((r) => `${r.chain}: ${nftRuleText(r)} # ${r.comment ?? ''}`) };
}

const ids = { d1: '', d2: '', d3: '', d4: '' };

test('redes sandbox up on a running sandbox keeps the daemon', async () => {
  const pid = await sb.daemonPid();
  assert.ok(pid);
  assert.equal(await sb.restartDaemon(), pid);
});

test('kill -9 and restart: same networks; a deleted bridge comes back, a stray one goes', async () => {
  const create = async (...args: string[]): Promise<string> => (await sb.docker(['network', 'create', ...args])).stdout.trim();
  ids.d1 = await create('--subnet=10.20.0.0/24', '--gateway=10.20.0.1', 'e2ed1');
  ids.d2 = await create('--label', 'keep=yes', 'e2ed2');
  ids.d3 = await create('--internal', 'e2ed3');
  ids.d4 = await create('-o', 'com.docker.network.bridge.name=e2edbr', 'e2ed4');
  const before = await inspectAll();
  const oldPid = await sb.kill9Daemon();

  const down = await sb.docker(['network', 'ls'], { allowFail: true });
  assert.equal(down.code, 1);
  assert.match(down.stderr, /^Cannot connect to the Docker daemon at unix:\/\/\/run\/redes\//);
  // Behind the daemon's back: one bridge deleted, one emptied and down, one stray of ours added.
  await sb.exec(['ip', 'link', 'del', bridgeOf(ids.d1)]);
  await sb.exec(['ip', 'addr', 'flush', 'dev', bridgeOf(ids.d2)]);
  await sb.exec(['ip', 'link', 'set', 'dev', bridgeOf(ids.d2), 'down']);
  await sb.exec(['ip', 'link', 'add', 'br-0123456789ab', 'type', 'bridge']);

  const newPid = await sb.restartDaemon();
  assert.notEqual(newPid, oldPid);
  assert.deepEqual(await inspectAll(), before);
  const all = await links();
  const get = (n: string): IpLink | undefined => all.find((l) => l.ifname === n);
  const want: Array<[string, string]> = [
    ['docker0', '172.17.0.1/16'],
    [bridgeOf(ids.d1), '10.20.0.1/24'],
    [bridgeOf(ids.d2), '172.18.0.1/16'],
    [bridgeOf(ids.d3), '172.19.0.1/16'],
    ['e2edbr', '172.20.0.1/16'],
  ];
  for (const [name, cidr] of want) {
    assert.deepEqual(v4(get(name)), [cidr], name);
    assert.ok(get(name)?.flags.includes('UP'), `${name} is UP`);
  }
  assert.equal(get('br-0123456789ab'), undefined, 'the stray bridge is removed');
  const bridges = all.filter((l) => l.linkinfo?.info_kind === 'bridge').map((l) => l.ifname).sort();
  assert.deepEqual(bridges, want.map(([n]) => n).sort());
  const post = nftRules(await sb.nftJson()).filter((r) => r.chain === 'postrouting').map(nftRuleText);
  assert.ok(post.includes(`ip saddr == 10.20.0.0/24 ; oifname != ${bridgeOf(ids.d1)} ; masquerade`), post.join('\n'));
  assert.ok(!post.some((r) => r.includes(bridgeOf(ids.d3))), 'no masquerade for the internal network');
});

test('nft flush ruleset while the daemon is down: restart restores the table', async () => {
  const shape = tableShape(await sb.nftJson());
  assert.ok(shape.rules.length >= 8, shape.rules.join('\n'));
  await sb.kill9Daemon();
  await sb.exec(['nft', 'flush', 'ruleset']);
  assert.equal(await sb.nftJson(), undefined);
  await sb.restartDaemon();
  assert.deepEqual(tableShape(await sb.nftJson()), shape);
});

test('a create the kernel refuses half way leaves nothing behind', async () => {
  // The bridge name passes the daemon's checks (a valid interface name that no network uses), but
  // the kernel refuses it: it is the alternative name of a veth, so `ip link add` fails.
  await sb.exec(['ip', 'link', 'add', 'e2ev0', 'type', 'veth', 'peer', 'name', 'e2ev1']);
  await sb.exec(['ip', 'link', 'property', 'add', 'dev', 'e2ev0', 'altname', 'e2ealt0']);
  const networks = await inspectAll();
  const linksBefore = (await links()).map((l) => `${l.ifname} ${l.flags.join(',')} ${v4(l).join(',')}`).sort();
  const table = tableShape(await sb.nftJson());

  const r = await sb.docker(['network', 'create', '-o', 'com.docker.network.bridge.name=e2ealt0', 'e2ecrash'], { allowFail: true });
  assert.equal(r.code, 1);
  assert.equal(r.stdout, '');
  assert.match(r.stderr, /^Error response from daemon: /);

  const same = async (): Promise<void> => {
    assert.deepEqual(await inspectAll(), networks);
    assert.deepEqual((await links()).map((l) => `${l.ifname} ${l.flags.join(',')} ${v4(l).join(',')}`).sort(), linksBefore);
    assert.deepEqual(tableShape(await sb.nftJson()), table);
  };
  await same();
  // Nothing half-made in the store either: a restart brings back no such network.
  await sb.kill9Daemon();
  await sb.restartDaemon();
  await same();
  // The name is free.
  await sb.docker(['network', 'create', 'e2ecrash']);
  await sb.docker(['network', 'rm', 'e2ecrash']);
});

test('an existing interface that is not a bridge is refused, not taken over', async () => {
  // dockerd: "existing interface e2ev1 is not a bridge" (libnetwork/drivers/bridge/interface_linux.go).
  try {
    const r = await sb.docker(['network', 'create', '-o', 'com.docker.network.bridge.name=e2ev1', 'e2eveth'], { allowFail: true });
    const after = (await links()).find((l) => l.ifname === 'e2ev1');
    assert.deepEqual(
      { code: r.code, refused: r.stderr.includes('existing interface e2ev1 is not a bridge'), addresses: v4(after) },
      { code: 1, refused: true, addresses: [] },
    );
  } finally {
    await sb.docker(['network', 'rm', 'e2eveth'], { allowFail: true });
    await sb.exec(['ip', 'link', 'del', 'e2ev0'], { allowFail: true });
  }
});

test('down leaves nothing of the sandbox behind', async () => {
  await sb.down();
});
