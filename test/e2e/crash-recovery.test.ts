// Crash-only recovery: for each named failpoint (src/util/failpoints.ts) the daemon is started with
// REDES_FAILPOINT set, an operation is driven until the daemon kills itself with SIGKILL between two
// of its steps, and a plain restart must leave the API and the kernel in agreement (helpers/
// consistency.ts): the interrupted operation complete or cleanly absent, no orphan netns, veth,
// bridge, mount or shim, no address twice. After each restart two running bystanders still reach
// each other by name (connectivity and the embedded DNS survive); where a scenario says how, the
// interrupted operation is checked to be redone cleanly (the port published and reachable, the name
// answered). At the end every address of the test network is still free to use (none lost). One
// sandbox for the file.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { FAILPOINTS, type Failpoint } from '../../src/util/failpoints.js';
import { startSandbox, type Sandbox } from '../helpers/sandbox.js';
import { apiRequest } from '../helpers/engine-api.js';
import { differences } from '../helpers/consistency.js';

let sb: Sandbox;
before(async () => {
  sb = await startSandbox(undefined, { prefix: 'crash' });
});
after(() => sb?.down());

const api = (method: string, path: string, body?: unknown): ReturnType<typeof apiRequest> =>
  apiRequest(sb.socket, method, `/v1.50${path}`, { ...(body === undefined ? {} : { body }), timeoutMs: 20_000 });
/** A request the daemon may die in the middle of. */
const attempt = (method: string, path: string, body?: unknown): Promise<unknown> => api(method, path, body).catch((e: unknown) => e);

async function run(name: string, network = 'fp'): Promise<void> {
  const r = await api('POST', `/containers/create?name=${name}`, { Image: 'busybox', Cmd: ['sleep', '3600'], HostConfig: { NetworkMode: network } });
  assert.equal(r.status, 201, r.body);
  const s = await api('POST', `/containers/${name}/start`);
  assert.equal(s.status, 204, s.body);
}

async function created(name: string): Promise<void> {
  const r = await api('POST', `/containers/create?name=${name}`, { Image: 'busybox', Cmd: ['sleep', '3600'], HostConfig: { NetworkMode: 'fp' } });
  assert.equal(r.status, 201, r.body);
}

/** Each failpoint: what to set up (daemon unarmed), and the operation that reaches it. */
const SCENARIOS: Record<Failpoint, { setup?: () => Promise<void>; op: () => Promise<unknown>; after?: () => Promise<void> }> = {
  'network.create.after-record': { op: () => attempt('POST', '/networks/create', { Name: 'n-rec' }) },
  'network.create.after-driver': { op: () => attempt('POST', '/networks/create', { Name: 'n-drv' }) },
  'network.rm.after-driver': {
    setup: async () => void (await api('POST', '/networks/create', { Name: 'n-rm' })),
    op: () => attempt('DELETE', '/networks/n-rm'),
  },
  'container.create.after-dir': { op: () => attempt('POST', '/containers/create?name=c-dir', { Image: 'busybox', Cmd: ['true'] }) },
  'container.start.after-plug': { setup: () => created('c-plug'), op: () => attempt('POST', '/containers/c-plug/start') },
  'container.start.after-create': { setup: () => created('c-create'), op: () => attempt('POST', '/containers/c-create/start') },
  'container.start.after-start': { setup: () => created('c-start'), op: () => attempt('POST', '/containers/c-start/start') },
  'container.exit.after-delete': { setup: () => run('c-exit'), op: () => attempt('POST', '/containers/c-exit/kill') },
  'container.rm.after-unmount': { setup: () => run('c-rm'), op: () => attempt('DELETE', '/containers/c-rm?force=1') },
  'connect.after-join': {
    setup: async () => {
      await run('c-conn', 'bridge');
      await api('POST', '/networks/create', { Name: 'n-conn' });
    },
    op: () => attempt('POST', '/networks/n-conn/connect', { Container: 'c-conn' }),
  },
  'disconnect.after-leave': { setup: () => run('c-disc'), op: () => attempt('POST', '/networks/fp/disconnect', { Container: 'c-disc' }) },
  'ports.publish.after-rules': {
    setup: async () => {
      const r = await api('POST', '/containers/create?name=c-port', {
        Image: 'busybox', Cmd: ['sh', '-c', 'echo port-ok > /i.html && httpd -p 80 -h / && exec sleep 3600'], ExposedPorts: { '80/tcp': {} },
        HostConfig: { NetworkMode: 'fp', PortBindings: { '80/tcp': [{ HostPort: '18080' }] } },
      });
      assert.equal(r.status, 201, r.body);
    },
    op: () => attempt('POST', '/containers/c-port/start'),
    after: async () => {
      // The start was cut short after the DNAT rules: it is undone, rules included, and the host
      // port is free again, so the same start then publishes it.
      assert.equal(await runningState('c-port'), false);
      assert.doesNotMatch(JSON.stringify(await sb.nftJson()), /18080/, 'no rule of the interrupted publish is left');
      const s = await api('POST', '/containers/c-port/start');
      assert.equal(s.status, 204, s.body);
      const got = await sb.world(['timeout', '10', 'busybox', 'wget', '-qO-', 'http://203.0.113.2:18080/i.html'], { allowFail: true, timeoutMs: 15_000 });
      assert.equal(got.stdout, 'port-ok\n', got.stderr);
    },
  },
  // fp is a user network: its containers get the embedded DNS when they start.
  'dns.register.after-attach': {
    setup: () => created('c-dns'),
    op: () => attempt('POST', '/containers/c-dns/start'),
    after: async () => {
      // The name was answered when the daemon died; the start is undone, so nobody answers it now.
      assert.equal(await runningState('c-dns'), false);
      assert.notEqual((await sb.docker(['exec', 'keeper', 'nslookup', 'c-dns'], { allowFail: true, timeoutMs: 15_000 })).code, 0);
      const s = await api('POST', '/containers/c-dns/start');
      assert.equal(s.status, 204, s.body);
      assert.equal(await pings('keeper', 'c-dns'), 0, 'the restarted container is found by name');
    },
  },
};

async function runningState(name: string): Promise<boolean> {
  return (await api('GET', `/containers/${name}/json`)).json<{ State: { Running: boolean } }>().State.Running;
}

/** `ping -c1` by name from one container to another: 0 when answered. */
async function pings(from: string, to: string): Promise<number> {
  return (await sb.docker(['exec', from, 'ping', '-c1', '-W2', to], { allowFail: true, timeoutMs: 15_000 })).code;
}

async function restartArmed(fp: Failpoint): Promise<void> {
  await sb.kill9Daemon();
  process.env.REDES_FAILPOINT = fp;
  try {
    await sb.restartDaemon();
  } finally {
    delete process.env.REDES_FAILPOINT;
  }
}

test('setup: a small network whose every address is counted, two containers running on it', async () => {
  assert.equal((await api('POST', '/networks/create', { Name: 'fp', IPAM: { Config: [{ Subnet: '10.77.0.0/27' }] } })).status, 201);
  await run('keeper');
  await run('peer');
  assert.equal(await pings('keeper', 'peer'), 0);
});

let survived = 0;
for (const fp of FAILPOINTS) {
  test(`kill -9 at ${fp}: after a restart the API agrees with the kernel`, async () => {
    const s = SCENARIOS[fp];
    await s.setup?.();
    assert.deepEqual(await differences(sb), [], 'consistent before the crash');
    await restartArmed(fp);
    await s.op();
    for (let i = 0; (await sb.daemonPid()) !== undefined && i < 200; i++) await sleep(50);
    assert.equal(await sb.daemonPid(), undefined, `the daemon did not reach failpoint ${fp}`);
    await sb.restartDaemon();
    survived++;
    assert.deepEqual(await differences(sb), [], `consistent after the crash at ${fp}`);
    // The bystanders, untouched, still run and still reach each other by name.
    assert.equal(await runningState('keeper'), true);
    assert.equal(await pings('keeper', 'peer'), 0, `keeper reaches peer after the crash at ${fp}`);
    await s.after?.();
    assert.deepEqual(await differences(sb), [], `consistent after redoing the operation of ${fp}`);
  });
}

test('no address lost: with every container gone, the /27 gives all its 29 addresses again', async () => {
  console.log(`kills survived: ${survived} of ${FAILPOINTS.length} failpoints`);
  const all = (await api('GET', '/containers/json?all=1')).json<Array<{ Id: string }>>();
  for (const c of all) assert.equal((await api('DELETE', `/containers/${c.Id}?force=1`)).status, 204);
  const ids: string[] = [];
  for (let i = 0; i < 29; i++) {
    const r = await api('POST', '/containers/create', { Image: 'busybox', Cmd: ['sleep', '3600'], HostConfig: { NetworkMode: 'fp' } });
    ids.push(r.json<{ Id: string }>().Id);
  }
  // 29 starts at once queue behind each other on 2 cores: give each the time the queue takes.
  const starts = await Promise.all(ids.map((id) => apiRequest(sb.socket, 'POST', `/v1.50/containers/${id}/start`, { timeoutMs: 180_000 })));
  assert.deepEqual(starts.map((r) => r.status).filter((s) => s !== 204), [], starts.map((r) => r.body).join(' '));
  assert.deepEqual(await differences(sb), []);
  for (const id of ids) await api('DELETE', `/containers/${id}?force=1`);
});
