// Crash-only recovery: for each named failpoint (src/util/failpoints.ts) an operation is driven until
// the daemon kills itself with SIGKILL between two of its steps, and a plain restart must leave the
// API and the kernel in agreement (helpers/consistency.ts): the interrupted operation complete or
// cleanly absent, no orphan netns, veth, bridge, mount or shim, no address twice. After each restart
// two running bystanders still reach each other by name (connectivity and the embedded DNS
// survive); where a scenario says how, the interrupted operation is checked to be redone cleanly
// (the port published and reachable, the name answered). At the end every address of the test
// network is still free to use (none lost).
//
// Time: the failpoints are shared out between two sandboxes that run side by side, and each daemon
// is armed through a file (REDES_FAILPOINT_FILE) once the scenario's setup is done, so a failpoint
// costs one restart (after the crash), not two.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { FAILPOINTS, type Failpoint } from '../../src/util/failpoints.js';
import { randomSandboxName, startSandbox, type Sandbox } from '../helpers/sandbox.js';
import { apiRequest, type ApiResponse } from '../helpers/engine-api.js';
import { differences } from '../helpers/consistency.js';
import { containerReaches } from '../helpers/reach.js';

/** The test network: a /28, 13 addresses for containers, every one counted at the end. */
const SUBNET = '10.77.0.0/28';
const ADDRESSES = 13;
/** Failpoints per sandbox: every other one of FAILPOINTS, so both halves mix network and container steps. */
const GROUPS: Failpoint[][] = [FAILPOINTS.filter((_, i) => i % 2 === 0), FAILPOINTS.filter((_, i) => i % 2 === 1)];

interface Scenario {
  /** Done with the daemon unarmed. */
  setup?: () => Promise<void>;
  /** The operation that reaches the failpoint (the daemon dies under it). */
  op: () => Promise<unknown>;
  /** After the restart: the interrupted operation redone. */
  after?: () => Promise<void>;
}

/** One sandbox and its daemon, with the calls the scenarios make. */
class Bench {
  sb!: Sandbox;
  readonly name = randomSandboxName('crash');
  /** The daemon's failpoint file: written with a name to arm it, emptied before every restart. */
  readonly armPath = `/run/redes/${this.name}/failpoint`;

  async start(): Promise<void> {
    this.sb = await startSandbox(undefined, { name: this.name, daemonEnv: { REDES_FAILPOINT_FILE: this.armPath } });
  }

  api(method: string, path: string, body?: unknown): Promise<ApiResponse> {
    return apiRequest(this.sb.socket, method, `/v1.50${path}`, { ...(body === undefined ? {} : { body }), timeoutMs: 20_000 });
  }

  /** A request the daemon may die in the middle of. */
  attempt(method: string, path: string, body?: unknown): Promise<unknown> {
    return this.api(method, path, body).catch((e: unknown) => e);
  }

  async created(name: string, network = 'fp'): Promise<void> {
    const r = await this.api('POST', `/containers/create?name=${name}`, { Image: 'busybox', Cmd: ['sleep', '3600'], HostConfig: { NetworkMode: network } });
    assert.equal(r.status, 201, r.body);
  }

  async run(name: string, network = 'fp'): Promise<void> {
    await this.created(name, network);
    const s = await this.api('POST', `/containers/${name}/start`);
    assert.equal(s.status, 204, s.body);
  }

  async running(name: string): Promise<boolean> {
    return (await this.api('GET', `/containers/${name}/json`)).json<{ State: { Running: boolean } }>().State.Running;
  }

  /** Whether one container reaches another by name: ping asked once a second for up to 10 s. */
  reaches(from: string, to: string): Promise<boolean> {
    return containerReaches(this.sb, from, to);
  }

  /** Arms `fp` (or nothing, with ''): the daemon reads the file at each failpoint it reaches. */
  arm(fp: Failpoint | ''): Promise<void> {
    return writeFile(this.armPath, fp);
  }
}

/** Each failpoint: what to set up (daemon unarmed), the operation that reaches it, what to redo after. */
function scenarios(b: Bench): Record<Failpoint, Scenario> {
  return {
    'network.create.after-record': { op: () => b.attempt('POST', '/networks/create', { Name: 'n-rec' }) },
    'network.create.after-driver': { op: () => b.attempt('POST', '/networks/create', { Name: 'n-drv' }) },
    'network.rm.after-driver': {
      setup: async () => assert.equal((await b.api('POST', '/networks/create', { Name: 'n-rm' })).status, 201),
      op: () => b.attempt('DELETE', '/networks/n-rm'),
    },
    'container.create.after-dir': { op: () => b.attempt('POST', '/containers/create?name=c-dir', { Image: 'busybox', Cmd: ['true'] }) },
    'container.start.after-plug': { setup: () => b.created('c-plug'), op: () => b.attempt('POST', '/containers/c-plug/start') },
    'container.start.after-create': { setup: () => b.created('c-create'), op: () => b.attempt('POST', '/containers/c-create/start') },
    'container.start.after-start': { setup: () => b.created('c-start'), op: () => b.attempt('POST', '/containers/c-start/start') },
    'container.exit.after-delete': { setup: () => b.run('c-exit'), op: () => b.attempt('POST', '/containers/c-exit/kill') },
    'container.rm.after-unmount': { setup: () => b.run('c-rm'), op: () => b.attempt('DELETE', '/containers/c-rm?force=1') },
    'connect.after-join': {
      setup: async () => {
        await b.run('c-conn', 'bridge');
        assert.equal((await b.api('POST', '/networks/create', { Name: 'n-conn' })).status, 201);
      },
      op: () => b.attempt('POST', '/networks/n-conn/connect', { Container: 'c-conn' }),
    },
    'disconnect.after-leave': { setup: () => b.run('c-disc'), op: () => b.attempt('POST', '/networks/fp/disconnect', { Container: 'c-disc' }) },
    'ports.publish.after-rules': {
      setup: async () => {
        const r = await b.api('POST', '/containers/create?name=c-port', {
          Image: 'busybox', Cmd: ['sh', '-c', 'echo port-ok > /i.html && httpd -p 80 -h / && exec sleep 3600'], ExposedPorts: { '80/tcp': {} },
          HostConfig: { NetworkMode: 'fp', PortBindings: { '80/tcp': [{ HostPort: '18080' }] } },
        });
        assert.equal(r.status, 201, r.body);
      },
      op: () => b.attempt('POST', '/containers/c-port/start'),
      after: async () => {
        // The start was cut short after the DNAT rules: it is undone, rules included, and the host
        // port is free again, so the same start then publishes it.
        assert.equal(await b.running('c-port'), false);
        assert.doesNotMatch(JSON.stringify(await b.sb.nftJson()), /18080/, 'no rule of the interrupted publish is left');
        const s = await b.api('POST', '/containers/c-port/start');
        assert.equal(s.status, 204, s.body);
        const got = await b.sb.world(['timeout', '10', 'busybox', 'wget', '-qO-', 'http://203.0.113.2:18080/i.html'], { allowFail: true, timeoutMs: 15_000 });
        assert.equal(got.stdout, 'port-ok\n', got.stderr);
      },
    },
    // fp is a user network: its containers get the embedded DNS when they start.
    'dns.register.after-attach': {
      setup: () => b.created('c-dns'),
      op: () => b.attempt('POST', '/containers/c-dns/start'),
      after: async () => {
        // The name was answered when the daemon died; the start is undone, so nobody answers it now.
        assert.equal(await b.running('c-dns'), false);
        assert.notEqual((await b.sb.docker(['exec', 'keeper', 'nslookup', 'c-dns'], { allowFail: true, timeoutMs: 15_000 })).code, 0);
        const s = await b.api('POST', '/containers/c-dns/start');
        assert.equal(s.status, 204, s.body);
        assert.ok(await b.reaches('keeper', 'c-dns'), 'the restarted container is found by name');
      },
    },
  };
}

/** Kills the daemon at `fp` under its operation, restarts it, and checks what the crash left. */
async function crashAt(b: Bench, fp: Failpoint, s: Scenario): Promise<void> {
  await s.setup?.();
  assert.deepEqual(await differences(b.sb), [], 'consistent before the crash');
  await b.arm(fp);
  try {
    await s.op();
    for (let i = 0; (await b.sb.daemonPid()) !== undefined && i < 200; i++) await sleep(50);
  } finally {
    await b.arm('');
  }
  assert.equal(await b.sb.daemonPid(), undefined, `the daemon did not reach failpoint ${fp}`);
  await b.sb.restartDaemon();
  assert.deepEqual(await differences(b.sb), [], `consistent after the crash at ${fp}`);
  // The bystanders, untouched, still run and still reach each other by name.
  assert.equal(await b.running('keeper'), true);
  assert.ok(await b.reaches('keeper', 'peer'), `keeper reaches peer after the crash at ${fp}`);
  await s.after?.();
  assert.deepEqual(await differences(b.sb), [], `consistent after redoing the operation of ${fp}`);
}

/** With every container gone, the test network gives each of its addresses once more. */
async function everyAddressFree(b: Bench): Promise<void> {
  const all = (await b.api('GET', '/containers/json?all=1')).json<Array<{ Id: string }>>();
  for (const c of all) assert.equal((await b.api('DELETE', `/containers/${c.Id}?force=1`)).status, 204);
  const ids: string[] = [];
  for (let i = 0; i < ADDRESSES; i++) {
    const r = await b.api('POST', '/containers/create', { Image: 'busybox', Cmd: ['sleep', '3600'], HostConfig: { NetworkMode: 'fp' } });
    assert.equal(r.status, 201, r.body);
    ids.push(r.json<{ Id: string }>().Id);
  }
  // The starts at once queue behind each other on 2 cores: give each the time the queue takes.
  const starts = await Promise.all(ids.map((id) => apiRequest(b.sb.socket, 'POST', `/v1.50/containers/${id}/start`, { timeoutMs: 180_000 })));
  assert.deepEqual(starts.map((r) => r.status).filter((s) => s !== 204), [], starts.map((r) => r.body).join(' '));
  const ips = await Promise.all(ids.map(async (id) => (await b.api('GET', `/containers/${id}/json`)).json<{ NetworkSettings: { Networks: Record<string, { IPAddress: string }> } }>().NetworkSettings.Networks.fp?.IPAddress));
  assert.equal(new Set(ips).size, ADDRESSES, `${ADDRESSES} different addresses: ${ips.join(' ')}`);
  assert.deepEqual(await differences(b.sb), []);
  for (const id of ids) await b.api('DELETE', `/containers/${id}?force=1`);
}

/** Failpoints whose kill the daemon survived: restarted, consistent, bystanders connected, the operation redone. */
const survived = new Set<Failpoint>();

describe('kill -9 at every failpoint', { concurrency: GROUPS.length }, () => {
  for (const [g, fps] of GROUPS.entries()) {
    // Within a sandbox one thing at a time (a suite's concurrency is inherited otherwise).
    describe(`sandbox ${g + 1} of ${GROUPS.length} (${fps.length} failpoints)`, { concurrency: 1 }, () => {
      const b = new Bench();
      const all = scenarios(b);
      before(() => b.start());
      after(() => b.sb?.down());

      test('setup: a small network whose every address is counted, two containers running on it', async () => {
        assert.equal((await b.api('POST', '/networks/create', { Name: 'fp', IPAM: { Config: [{ Subnet: SUBNET }] } })).status, 201);
        await b.run('keeper');
        await b.run('peer');
        assert.ok(await b.reaches('keeper', 'peer'));
      });

      for (const fp of fps) {
        test(`kill -9 at ${fp}: after a restart the API agrees with the kernel`, async () => {
          await crashAt(b, fp, all[fp]);
          survived.add(fp);
        });
      }

      test(`no address lost: with every container gone, the ${SUBNET} gives all its ${ADDRESSES} addresses again`, () => everyAddressFree(b));
    });
  }
});

test('figures: every failpoint covered, every kill survived', (t) => {
  t.diagnostic(`failpoints covered: ${GROUPS.flat().length} of ${FAILPOINTS.length}; kills survived: ${survived.size}`);
  assert.deepEqual([...GROUPS.flat()].sort(), [...FAILPOINTS].sort(), 'each failpoint in one sandbox');
  assert.deepEqual(FAILPOINTS.filter((fp) => !survived.has(fp)), [], 'failpoints whose kill was not survived');
});
