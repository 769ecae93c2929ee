// Races between operations that touch the same network and container: `network rm` sent together
// with `network connect`, with `start` and with `run`, and many connects to one network at once.
// Whatever wins, the result must be consistent: no endpoint on a network that is gone, no
// interface in a container the API does not list, no address given twice, and the network's
// subnet reusable afterwards without a clash. Also an attach client that leaves in the middle of
// the log replay. One sandbox for the file.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, readlink } from 'node:fs/promises';
import { connect } from 'node:net';
import { startSandbox, type Sandbox } from '../helpers/sandbox.js';
import { apiRequest } from '../helpers/engine-api.js';
import { containerNetns, ipIn, runDetached, v4ByLink, waitFor, type ContainerInspect } from '../helpers/containers.js';

let sb: Sandbox;
before(async () => {
  sb = await startSandbox(undefined, { prefix: 'rce' });
});
after(() => sb?.down());

const ROUNDS = 10;
const api = (method: string, path: string, body?: unknown): ReturnType<typeof apiRequest> =>
  apiRequest(sb.socket, method, `/v1.50${path}`, body === undefined ? {} : { body });

async function inspect(id: string): Promise<ContainerInspect> {
  const r = await api('GET', `/containers/${id}/json`);
  assert.equal(r.status, 200, r.body);
  return r.json<ContainerInspect>();
}

/** The API's view of a running container against its netns: same interfaces, same addresses, live networks. */
async function assertConsistent(id: string): Promise<void> {
  const c = await inspect(id);
  const nets = (await api('GET', '/networks')).json<Array<{ Id: string; Name: string }>>();
  const live = new Set(nets.map((n) => n.Id));
  for (const [name, ep] of Object.entries(c.NetworkSettings.Networks)) {
    assert.ok(live.has(ep.NetworkID), `endpoint on ${name} (${ep.NetworkID.slice(0, 12)}) points to a network that is gone`);
  }
  const inside = v4ByLink(await ipIn(containerNetns(sb, id), ['addr', 'show']));
  delete inside.lo;
  const listed = Object.values(c.NetworkSettings.Networks).map((e) => `${e.IPAddress}/${e.IPPrefixLen}`).sort();
  assert.deepEqual(Object.values(inside).flat().sort(), listed, 'interfaces in the netns = endpoints the API lists');
}

test('network rm sent together with connect: never both, never an endpoint on a missing network', async () => {
  const c = await runDetached(sb, ['--name', 'rc1', 'busybox', 'sleep', '3600']);
  let bothOk = 0;
  const outcomes: Record<string, number> = {};
  for (let i = 0; i < ROUNDS; i++) {
    const name = `race${i}`;
    assert.equal((await api('POST', '/networks/create', { Name: name, IPAM: { Config: [{ Subnet: '10.9.0.0/24' }] } })).status, 201);
    const [rm, conn] = await Promise.all([api('DELETE', `/networks/${name}`), api('POST', `/networks/${name}/connect`, { Container: c })]);
    const key = `rm ${rm.status} / connect ${conn.status}`;
    outcomes[key] = (outcomes[key] ?? 0) + 1;
    assert.ok(rm.status < 500 && conn.status < 500, `${key}: ${rm.body} ${conn.body}`);
    if (rm.status === 204 && conn.status === 200) bothOk++;
    await assertConsistent(c);
    if (conn.status === 200 && rm.status !== 204) {
      assert.equal((await api('POST', `/networks/${name}/disconnect`, { Container: c })).status, 200);
      assert.equal((await api('DELETE', `/networks/${name}`)).status, 204);
    }
  }
  console.log(`rm+connect outcomes over ${ROUNDS} rounds: ${JSON.stringify(outcomes)}`);
  assert.equal(bothOk, 0, 'rm and connect both succeeded');
  await assertConsistent(c);
});

test('network rm sent together with start: the container runs on the network or the start fails cleanly', async () => {
  for (let i = 0; i < ROUNDS; i++) {
    const name = `srace${i}`;
    assert.equal((await api('POST', '/networks/create', { Name: name, IPAM: { Config: [{ Subnet: '10.8.0.0/24' }] } })).status, 201);
    const cr = await api('POST', `/containers/create?name=s${i}`, { Image: 'busybox', Cmd: ['sleep', '3600'], HostConfig: { NetworkMode: name } });
    assert.equal(cr.status, 201, cr.body);
    const id = cr.json<{ Id: string }>().Id;
    const [rm, start] = await Promise.all([api('DELETE', `/networks/${name}`), api('POST', `/containers/${id}/start`)]);
    assert.ok(rm.status < 500 && start.status < 500, `rm ${rm.status} ${rm.body} / start ${start.status} ${start.body}`);
    assert.ok(!(rm.status === 204 && start.status === 204), 'rm and start both succeeded');
    if (start.status === 204) await assertConsistent(id);
    assert.equal((await api('DELETE', `/containers/${id}?force=1`)).status, 204);
    if (rm.status !== 204) assert.equal((await api('DELETE', `/networks/${name}`)).status, 204);
  }
});

test('16 connects to one /28 at once: distinct addresses, then the subnet is reused cleanly', async () => {
  assert.equal((await api('POST', '/networks/create', { Name: 'many', IPAM: { Config: [{ Subnet: '10.7.0.0/28' }] } })).status, 201);
  const ids: string[] = [];
  for (let i = 0; i < 16; i++) {
    const r = await api('POST', `/containers/create?name=m${i}`, { Image: 'busybox', Cmd: ['sleep', '3600'] });
    ids.push(r.json<{ Id: string }>().Id);
  }
  await Promise.all(ids.map((id) => api('POST', `/containers/${id}/start`)));
  const res = await Promise.all(ids.map((id) => api('POST', '/networks/many/connect', { Container: id })));
  const ok = res.filter((r) => r.status === 200).length;
  assert.equal(ok, 13, `a /28 has 13 free addresses: ${res.map((r) => r.status).join(' ')}`);
  // The three left over get Docker's 503 for an exhausted pool; nothing else fails.
  for (const r of res) assert.ok(r.status === 200 || (r.status === 503 && /no available addresses/.test(r.body)), `${r.status} ${r.body}`);
  const addrs: string[] = [];
  for (const id of ids) {
    const ep = (await inspect(id)).NetworkSettings.Networks.many;
    if (ep) addrs.push(ep.IPAddress);
    await assertConsistent(id);
  }
  assert.equal(new Set(addrs).size, addrs.length, `duplicate address: ${addrs.sort().join(' ')}`);
  await Promise.all(ids.map((id) => api('DELETE', `/containers/${id}?force=1`)));
  assert.equal((await api('DELETE', '/networks/many')).status, 204);
});

/** How many descriptors the daemon holds open on the log of container `id`. */
async function daemonLogFds(id: string): Promise<number> {
  const pid = await sb.daemonPid();
  assert.ok(pid, 'the daemon runs');
  let n = 0;
  for (const fd of await readdir(`/proc/${pid}/fd`)) {
    const target = await readlink(`/proc/${pid}/fd/${fd}`).catch(() => '');
    if (target.endsWith(`/${id}/state/log`)) n++;
  }
  return n;
}

test('attach with logs whose client leaves during the log replay: the daemon ends the replay and closes the log', async () => {
  // 32 MiB of output: far more than the session's buffers and the socket hold, so the replay waits for the client.
  const id = await runDetached(sb, ['--name', 'chatty', 'busybox', 'sh', '-c', 'yes 0123456789abcdef | head -c 33554432; echo done; sleep 3600']);
  await waitFor('the output to be logged', async () => (await sb.docker(['logs', '--tail', '1', 'chatty'])).stdout.includes('done'), 60_000);
  const client = connect(sb.socket);
  await new Promise<void>((resolve, reject) => client.once('connect', resolve).once('error', reject));
  client.write(`POST /v1.50/containers/${id}/attach?logs=1&stream=1&stdout=1&stderr=1 HTTP/1.1\r\nHost: docker\r\nConnection: Upgrade\r\nUpgrade: tcp\r\nContent-Length: 0\r\n\r\n`);
  let got = 0;
  await new Promise<void>((resolve) => client.on('data', (b: Buffer) => ((got += b.length), got > 65536 && (client.pause(), resolve()))));
  await waitFor('the replay to hold the log', async () => (await daemonLogFds(id)) === 1);
  client.destroy(); // the client leaves without reading the rest
  await waitFor('the daemon to close the log', async () => (await daemonLogFds(id)) === 0);
  assert.equal((await api('DELETE', `/containers/${id}?force=1`)).status, 204);
});
