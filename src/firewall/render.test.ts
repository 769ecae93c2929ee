/**
 * Golden-file tests of the ruleset renderer: one file per scenario under testdata/. Run with
 * REDES_UPDATE_GOLDEN=1 to rewrite them after an intended change (then read the diff).
 * Each rendered ruleset is also checked by nft itself (`nft -c`) inside a throwaway, unnamed
 * network namespace (`unshare --net`), so the root namespace is never touched.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { renderNetworkChange, renderRuleset, renderTeardown, type FirewallNetwork, type FirewallState } from './render.js';
import { renderPortDelta } from './render-ports.js';

const testdata = fileURLToPath(new URL('../../../src/firewall/testdata/', import.meta.url));

const defaultBridge: FirewallNetwork = {
  id: 'd'.repeat(64),
  bridge: 'docker0',
  subnetsV4: ['172.17.0.0/16'],
  subnetsV6: [],
  gatewaysV4: ['172.17.0.1'],
  internal: false,
  masquerade: true,
  icc: true,
};
const user: FirewallNetwork = {
  id: 'a'.repeat(64),
  bridge: 'br-aaaaaaaaaaaa',
  subnetsV4: ['10.1.1.0/24'],
  subnetsV6: ['2001:db8:1::/64'],
  gatewaysV4: ['10.1.1.1'],
  gatewaysV6: ['2001:db8:1::1'],
  internal: false,
  masquerade: true,
  icc: true,
};

const scenarios: Record<string, FirewallState> = {
  empty: { table: 'redes', networks: [] },
  'default-bridge': { table: 'redes', networks: [defaultBridge] },
  'two-networks-dual-stack': { table: 'redes', networks: [defaultBridge, user] },
  'internal-no-icc-no-masquerade': {
    table: 'redes',
    networks: [
      defaultBridge,
      { ...user, id: 'b'.repeat(64), bridge: 'br-internal', internal: true, subnetsV6: [] },
      { ...user, id: 'c'.repeat(64), bridge: 'br-noicc', icc: false, masquerade: false, subnetsV4: ['10.9.0.0/16'], subnetsV6: [] },
    ],
  },
  'published-ports': {
    table: 'redes',
    networks: [defaultBridge, user],
    ports: [
      { family: 4, proto: 'tcp', hostIp: '0.0.0.0', hostPort: 8080, containerIp: '172.17.0.2', containerPort: 80 },
      { family: 4, proto: 'udp', hostIp: '0.0.0.0', hostPort: 5353, containerIp: '172.17.0.2', containerPort: 53 },
      { family: 4, proto: 'tcp', hostIp: '127.0.0.1', hostPort: 8081, containerIp: '172.17.0.3', containerPort: 80 },
      { family: 6, proto: 'tcp', hostIp: '::', hostPort: 8080, containerIp: '2001:db8:1::2', containerPort: 80 },
      { family: 6, proto: 'tcp', hostIp: '2001:db8:1::1', hostPort: 9090, containerIp: '2001:db8:1::2', containerPort: 90 },
    ],
  },
  'l2-guarded-endpoints': {
    table: 'redes',
    networks: [defaultBridge, user],
    endpoints: [
      { port: 'veth1111111', mac: '02:42:ac:11:00:02', ipv4: '172.17.0.2' },
      { port: 'veth2222222', mac: '02:42:0a:01:01:02', ipv4: '10.1.1.2', ipv6: '2001:db8:1::2' },
      { port: 'veth3333333', mac: '02:42:ac:11:00:03', ipv4: '172.17.0.3' },
    ],
  },
  'links-icc-off': {
    table: 'redes',
    networks: [{ ...defaultBridge, icc: false }],
    links: [
      { src: '172.17.0.3', dst: '172.17.0.2', proto: 'tcp', port: 80 },
      { src: '172.17.0.3', dst: '172.17.0.2', proto: 'udp', port: 53 },
      { src: '172.17.0.4', dst: '172.17.0.2', proto: 'tcp', port: 80 },
    ],
  },
};

function nftAccepts(script: string): { ok: boolean; err: string } {
  const r = spawnSync('unshare', ['--net', 'nft', '-c', '-f', '-'], { input: script, encoding: 'utf8' });
  return { ok: r.status === 0, err: r.stderr };
}

for (const [name, state] of Object.entries(scenarios)) {
  test(`ruleset for ${name} matches its golden file and nft accepts it`, () => {
    const text = renderRuleset(state);
    const file = `${testdata}${name}.nft`;
    if (process.env.REDES_UPDATE_GOLDEN === '1') writeFileSync(file, text);
    assert.ok(existsSync(file), `golden file ${file} is missing: run with REDES_UPDATE_GOLDEN=1 and review it`);
    assert.equal(text, readFileSync(file, 'utf8'));
    const check = nftAccepts(text);
    assert.ok(check.ok, check.err);
  });
}

test('the renderer is independent of network order', () => {
  const a = renderRuleset({ table: 'redes', networks: [defaultBridge, user] });
  const b = renderRuleset({ table: 'redes', networks: [user, defaultBridge] });
  assert.equal(a, b);
});

test('applying a smaller ruleset over a larger one leaves exactly the smaller one', () => {
  const dir = mkdtempSync(join(tmpdir(), 'redes-render-'));
  try {
    const big = join(dir, 'big.nft');
    const small = join(dir, 'small.nft');
    writeFileSync(big, renderRuleset(scenarios['two-networks-dual-stack'] as FirewallState));
    writeFileSync(small, renderRuleset(scenarios['default-bridge'] as FirewallState));
    // Files are applied in order inside one throwaway namespace, then the result is listed.
    const applyAll = (files: string[]): string => {
      const script = 'for f; do nft -f "$f" || exit 1; done; nft list ruleset';
      const r = spawnSync('unshare', ['--net', 'sh', '-c', script, 'sh', ...files], { encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
      return r.stdout;
    };
    assert.equal(applyAll([big, small]), applyAll([small]));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('teardown script is accepted when the table does not exist', () => {
  const check = nftAccepts(renderTeardown('redes'));
  assert.ok(check.ok, check.err);
});

test('a port delta adds and removes only elements, and keeps hairpin entries still needed', () => {
  const a = { family: 4, proto: 'tcp', hostIp: '0.0.0.0', hostPort: 8080, containerIp: '172.17.0.2', containerPort: 80 } as const;
  const b = { ...a, hostPort: 8443, containerPort: 443 };
  const script = renderPortDelta('redes', [b], [a], [b]);
  assert.equal(script, [
    'delete element inet redes pubany4 { tcp . 8080 : 172.17.0.2 . 80 }',
    'add element inet redes pubany4 { tcp . 8443 : 172.17.0.2 . 443 }',
    'add element inet redes hairpin4 { 172.17.0.2 . 172.17.0.2 }',
    '',
  ].join('\n'));
  assert.equal(renderPortDelta('redes', [], [a], []), [
    'delete element inet redes pubany4 { tcp . 8080 : 172.17.0.2 . 80 }',
    'delete element inet redes hairpin4 { 172.17.0.2 . 172.17.0.2 }',
    '',
  ].join('\n'));
});

test('a delta applies on top of the full ruleset, and the user table survives a re-render', () => {
  const state = scenarios['published-ports'] as FirewallState;
  const extra = { family: 4, proto: 'tcp', hostIp: '0.0.0.0', hostPort: 30000, containerIp: '10.1.1.2', containerPort: 30000 } as const;
  const script = [
    renderRuleset(state),
    'add rule inet redes-user forward ip saddr 198.51.100.0/24 drop\n',
    renderPortDelta('redes', [extra], [], []),
    renderRuleset(state),
  ].join('');
  const r = spawnSync('unshare', ['--net', 'sh', '-c', 'nft -f - && nft list ruleset'], { input: script, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /ip saddr 198\.51\.100\.0\/24 drop/);
  assert.doesNotMatch(r.stdout, /30000/, 'the full render replaces the delta');
});

test('a network change over a full render lists as the full render of the new state, containers\' elements kept', () => {
  const ports = (scenarios['published-ports'] as FirewallState).ports;
  const endpoints = (scenarios['l2-guarded-endpoints'] as FirewallState).endpoints;
  const links = (scenarios['links-icc-off'] as FirewallState).links;
  const noicc = { ...user, id: 'c'.repeat(64), bridge: 'br-noicc', icc: false, masquerade: false, internal: true, subnetsV4: ['10.9.0.0/16'], subnetsV6: [] };
  const before: FirewallState = { table: 'redes', networks: [defaultBridge, user], ports, endpoints, links };
  const list = (script: string): string => {
    const r = spawnSync('unshare', ['--net', 'sh', '-c', 'nft -f - && nft list ruleset'], { input: script, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    return r.stdout;
  };
  for (const networks of [[defaultBridge, user, noicc], [user], []]) {
    const after = { ...before, networks };
    assert.equal(list(renderRuleset(before) + renderNetworkChange(after)), list(renderRuleset(after)), `networks: ${networks.map((n) => n.bridge).join(' ')}`);
  }
  assert.doesNotMatch(renderNetworkChange(before), /pubany4 \{|veth|links4 \{|table bridge/, 'no container element is rendered again');
});

test('a network change without our table is refused (the caller then renders everything)', () => {
  const check = nftAccepts(renderNetworkChange({ table: 'redes', networks: [defaultBridge] }));
  assert.equal(check.ok, false);
});
