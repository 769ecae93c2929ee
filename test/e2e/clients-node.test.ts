// dockerode 5 and testcontainers-node 11.14 against redesd, both run inside the sandbox's host
// namespace (`redes sandbox exec`), never from the machine's root namespace (see platform notes:
// /.dockerenv makes testcontainers send traffic to 172.17.0.1, which there is the real uplink).
// test/clients/dockerode-check.ts makes dockerode's calls (networks with aliases and a static address,
// create/start/exec/logs/stop/wait/remove, an interactive attach and logs follow demultiplexed with
// docker-modem, volumes and prune, events with since/until, stats, top, archives, container prune,
// swarm leave outside a swarm); test/clients/testcontainers-check.ts runs GenericContainer with an
// exposed port and a wait strategy, a Network with an alias reached from a second container, exec.
// Both print one JSON line per step; the assertions below name the step that broke.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { startSandbox, type Sandbox } from '../helpers/sandbox.js';
import { lines } from '../helpers/containers.js';

type Step = Record<string, unknown> & { step: string; ok: boolean; error?: string; stack?: string };
const script = (file: string): string => fileURLToPath(new URL(`../clients/${file}`, import.meta.url));

let sb: Sandbox;
const out: Record<'dockerode' | 'testcontainers', { steps: Map<string, Step>; raw: string }> = {
  dockerode: { steps: new Map(), raw: '' },
  testcontainers: { steps: new Map(), raw: '' },
};

async function runScript(which: keyof typeof out, file: string, env: string[]): Promise<void> {
  const r = await sb.exec(['env', `DOCKER_HOST=${sb.dockerHost}`, ...env, process.execPath, script(file), which === 'dockerode' ? 'dnode' : 'tcn'], { timeoutMs: 240_000, allowFail: true });
  out[which].raw = `exit ${r.code}\n${r.stdout}\n${r.stderr}`;
  for (const line of lines(r.stdout)) {
    if (!line.startsWith('{"step"')) continue;
    const s = JSON.parse(line) as Step;
    out[which].steps.set(s.step, s);
  }
}

before(async () => {
  sb = await startSandbox(undefined, { prefix: 'cnode' });
  await runScript('dockerode', 'dockerode-check.js', []);
  // Ryuk needs the testcontainers/ryuk image, which cannot be pulled here: the script removes its own.
  await runScript('testcontainers', 'testcontainers-check.js', ['TESTCONTAINERS_RYUK_DISABLED=true']);
});
after(async () => {
  await sb?.down();
});

function facts(which: keyof typeof out, name: string): Step {
  const s = out[which].steps.get(name);
  assert.ok(s, `${which} step ${name} missing from the script's output:\n${out[which].raw}`);
  assert.equal(s.ok, true, `${which} step ${name} failed: ${s.error}\n${s.stack ?? ''}`);
  return s;
}
const d = (name: string): Step => facts('dockerode', name);

test('dockerode: ping, version and every step ran', () => {
  assert.deepEqual([d('ping').ping, d('ping').api], ['OK', '1.50']);
  assert.ok(out.dockerode.steps.has('done'), out.dockerode.raw);
});

test('dockerode: network create/inspect/connect with alias and address/disconnect; the alias resolves', () => {
  const n = d('networks');
  assert.deepEqual([n.subnet, n.driver, n.labels, n.ip], ['10.232.8.0/24', 'bridge', { dnode: '1' }, '10.232.8.60']);
  assert.ok((n.aliases as string[]).includes('nodealias'), String(n.aliases));
  assert.deepEqual([n.members, n.alias_ping_code, n.after_disconnect, n.listed], [['dnode-cli', 'dnode-srv'], 0, ['bridge'], ['dnode-net']]);
});

test('dockerode: createContainer (its body repeats the name), logs and exec demultiplexed, stop, wait, remove', () => {
  const c = d('containers');
  assert.deepEqual(c.logs, { out: 'out-line\n', err: 'err-line\n' });
  assert.deepEqual(c.exec, { code: 4, out: 'yes\n', err: 'oops\n' });
  assert.deepEqual([c.running, c.stopped, c.exit_code, c.wait_code, c.removed], ['running', 'exited', 137, 137, true]);
});

test('dockerode: interactive attach (stdin in, demuxed stdout/stderr out) and logs follow to the end', () => {
  const a = d('attach');
  assert.deepEqual([a.out, a.err, a.code], ['got:ping one\ngot:ping two\n', 'e:ping one\ne:ping two\n', 0]);
  assert.deepEqual(a.followed, { out: 'tick 1\ntick 2\ntick 3\n', err: 'bye\n' });
});

test('dockerode: volumes create/inspect/list/mount/remove and prune (all=true for named ones)', () => {
  const v = d('volumes');
  assert.deepEqual([v.name, v.driver, v.labels, v.scope, v.listed, v.content], ['dnode-vol', 'local', { dnode: 'vol' }, 'local', ['dnode-vol'], 'kept\n']);
  assert.deepEqual([v.pruned_default, v.pruned, v.reclaimed], [[], ['dnode-dangling'], 'number']);
});

test('dockerode: events with since/until and filters; stats one-shot and streamed; top', () => {
  const e = d('events');
  assert.deepEqual([e.actions, e.names, e.types], [['create', 'start', 'die', 'destroy'], ['dnode-ev'], ['container']]);
  const s = d('stats');
  assert.deepEqual([s.interfaces, s.rx, s.tx, s.rx_dropped, s.memory, s.cpu, s.streamed_has_networks, s.name], [['eth0'], 'number', 'number', 'number', 'number', 'number', true, '/dnode-srv']);
  const t = d('top');
  assert.deepEqual([t.titles, t.cmds, t.aux], [['UID', 'PID', 'PPID', 'C', 'STIME', 'TTY', 'TIME', 'CMD'], ['sleep 300'], 'USER']);
});

test('dockerode: putArchive/getArchive, prune, swarm leave outside a swarm, cleanup', () => {
  const a = d('archive');
  assert.deepEqual([a.cat, a.files, a.missing], ['hello from dockerode\n', { 'hello.txt': '600:hello from dockerode\n' }, 404]);
  const p = d('prune');
  assert.deepEqual([p.deleted, p.left, p.deleted_all, p.reclaimed, p.running], [1, ['/dnode-dead2'], 1, 'number', ['/dnode-cli', '/dnode-srv']]);
  assert.equal(d('swarm').status, '503 This node is not part of a swarm');
  assert.equal(d('cleanup').left, 0);
});

const tc = (name: string): Step => facts('testcontainers', name);

test('testcontainers: finds the daemon through DOCKER_HOST; mapped ports are reached on our docker0 gateway', () => {
  const r = tc('runtime');
  assert.deepEqual([r.host, r.socket, r.os_type], ['172.17.0.1', sb.socket, 'linux']);
  assert.ok(out.testcontainers.steps.has('done'), out.testcontainers.raw);
});

test('testcontainers: GenericContainer with withExposedPorts (HostPort "0"), content copied before start, an HTTP wait strategy, exec', () => {
  const g = tc('generic');
  assert.ok(Number(g.port) >= 1024, `mapped port ${g.port}`);
  assert.deepEqual([g.host, g.body, g.name], ['172.17.0.1', 'hello from tcn\n', '/tcn-web']);
  assert.deepEqual([g.exec_code, g.exec_stdout, g.exec_stderr], [2, 'hello from tcn\n', 'to-err\n']);
  assert.equal((g.networks as string[]).length, 2, `networks ${String(g.networks)}`);
  assert.match(String(g.network_ip), /^\d+\.\d+\.\d+\.\d+$/);
});

test('testcontainers: a second container on the Network reaches the first by its alias; stop with remove', () => {
  const a = tc('alias');
  assert.deepEqual([a.code, a.body], [0, 'hello from tcn\n']);
  assert.equal(tc('teardown').stopped, 2);
});

test('nothing of the clients is left in the daemon', async () => {
  assert.deepEqual(lines((await sb.docker(['ps', '-aq'])).stdout), []);
  assert.deepEqual(lines((await sb.docker(['volume', 'ls', '-q'])).stdout), []);
  assert.deepEqual(lines((await sb.docker(['network', 'ls', '--format', '{{.Name}}'])).stdout).sort(), ['bridge', 'host', 'none']);
});
