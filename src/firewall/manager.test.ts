import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RecordingFirewall } from './firewall.js';
import { FirewallManager } from './manager.js';

const p = (hostPort: number, containerIp = '172.17.0.2') =>
  ({ family: 4, proto: 'tcp', hostIp: '0.0.0.0', hostPort, containerIp, containerPort: 80 }) as const;

test('a port change is one delta; a network change is one full render with every port', async () => {
  const fw = new RecordingFirewall();
  const m = new FirewallManager(fw, 'redes');
  await m.setPorts('c1', [p(8080)]);
  await m.setPorts('c2', [p(8081, '172.17.0.3')]);
  assert.equal(fw.deltas.length, 2);
  assert.equal(fw.applied.length, 0);
  await m.setNetworks([]);
  assert.equal(fw.applied.length, 1);
  assert.equal(fw.applied[0]?.ports?.length, 2);
  await m.removePorts('c1');
  assert.match(fw.deltas[2] ?? '', /^delete element inet redes pubany4 \{ tcp \. 8080 : 172\.17\.0\.2 \. 80 \}/);
  await m.setPorts('c2', [p(8081, '172.17.0.3')]);
  assert.equal(fw.deltas.length, 3, 'no change, no transaction');
});

test('a refused delta falls back to a full render', async () => {
  const fw = new RecordingFirewall();
  const m = new FirewallManager(fw, 'redes');
  fw.failNextDelta = true;
  await m.setPorts('c1', [p(8080)]);
  assert.equal(fw.applied.length, 1);
  assert.deepEqual(fw.applied[0]?.ports, [p(8080)]);
});

test('links are element deltas by owner and part of every full render', async () => {
  const fw = new RecordingFirewall();
  const m = new FirewallManager(fw, 'redes');
  const link = { src: '172.17.0.3', dst: '172.17.0.2', proto: 'tcp', port: 80 } as const;
  await m.setLinks('parent', [link]);
  assert.equal(fw.deltas[0], 'add element inet redes links4 { 172.17.0.3 . 172.17.0.2 . tcp . 80 }\n');
  await m.setNetworks([]);
  assert.deepEqual(fw.applied[0]?.links, [link]);
  await m.removeLinks('parent');
  assert.equal(fw.deltas[1], 'delete element inet redes links4 { 172.17.0.3 . 172.17.0.2 . tcp . 80 }\n');
  await m.removeLinks('parent');
  assert.equal(fw.deltas.length, 2, 'nothing left, no transaction');
});

test('a guarded endpoint is one delta; a network change renders every guarded endpoint', async () => {
  const fw = new RecordingFirewall();
  const m = new FirewallManager(fw, 'redes');
  m.loadEndpoint('e0', { port: 'veth0000000', mac: '02:42:ac:11:00:09', ipv4: '172.17.0.9' });
  await m.setEndpoint('e1', { port: 'veth1111111', mac: '02:42:ac:11:00:02', ipv4: '172.17.0.2' });
  assert.match(fw.deltas[0] ?? '', /^add element bridge redes l2mac \{ "veth1111111" \. 02:42:ac:11:00:02 \}$/m);
  await m.setNetworks([]);
  assert.deepEqual(fw.applied[0]?.endpoints?.map((e) => e.port), ['veth0000000', 'veth1111111']);
  await m.setEndpoint('e1', undefined);
  assert.match(fw.deltas[1] ?? '', /^delete element bridge redes l2ports \{ "veth1111111" \}$/m);
  assert.deepEqual(m.state().endpoints?.map((e) => e.port), ['veth0000000']);
});

test('a removal keeps what another owner still needs: a shared hairpin, a shared link', async () => {
  const fw = new RecordingFirewall();
  const m = new FirewallManager(fw, 'redes');
  await m.setPorts('c1', [p(8080), p(8081)]);
  await m.setPorts('c1', [p(8081)]);
  assert.equal(fw.deltas[1], 'delete element inet redes pubany4 { tcp . 8080 : 172.17.0.2 . 80 }\n', 'the hairpin stays for 8081');
  await m.setPorts('c1', []);
  assert.match(fw.deltas[2] ?? '', /^delete element inet redes hairpin4 \{ 172\.17\.0\.2 \. 172\.17\.0\.2 \}$/m);
  const link = { src: '172.17.0.3', dst: '172.17.0.2', proto: 'tcp', port: 80 } as const;
  await m.setLinks('p1', [link]);
  await m.setLinks('p2', [link]);
  await m.removeLinks('p1');
  assert.equal(fw.deltas[5], '', 'p2 still needs it: nothing deleted');
  await m.removeLinks('p2');
  assert.equal(fw.deltas[6], 'delete element inet redes links4 { 172.17.0.3 . 172.17.0.2 . tcp . 80 }\n');
});

test('a network change after a full render rewrites the networks only; a load or a refusal brings the full render back', async () => {
  const fw = new RecordingFirewall();
  const m = new FirewallManager(fw, 'redes');
  await m.setPorts('c1', [p(8080)]);
  await m.setNetworks([]);
  assert.equal(fw.applied.length, 1, 'the first network change renders everything');
  await m.setNetworks([]);
  assert.equal(fw.applied.length, 1);
  assert.match(fw.deltas.at(-1) ?? '', /^flush table inet redes\n/);
  assert.doesNotMatch(fw.deltas.at(-1) ?? '', /8080/);
  fw.failNextDelta = true;
  await m.setNetworks([]);
  assert.equal(fw.applied.length, 2, 'refused: the whole table');
  m.loadEndpoint('e1', { port: 'veth1111111', mac: '02:42:ac:11:00:02', ipv4: '172.17.0.2' });
  await m.setNetworks([]);
  assert.equal(fw.applied.length, 3, 'state loaded without the kernel: the whole table');
  assert.deepEqual(fw.applied[2]?.endpoints?.map((e) => e.port), ['veth1111111']);
});
