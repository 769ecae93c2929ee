// Debian's python3-docker (docker-py 5.0.3) against redesd, run inside the sandbox's host namespace:
// test/clients/docker_py_check.py makes the calls (networks with aliases, a static address and
// endpoint driver options, containers run/exec/logs/stop/remove, volumes (named, anonymous) and
// their prune, events with since/until, one-shot and streamed stats, top, put/get_archive, container
// prune, logs follow, a random published port, pause, diff, rename, update, df, docker-py's swarm
// teardown) and prints one JSON line per step; this file asserts on those lines, so a failure names
// the step and the fact that broke.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { startSandbox, type Sandbox } from '../helpers/sandbox.js';
import { lines } from '../helpers/containers.js';

const SCRIPT = fileURLToPath(new URL('../../../test/clients/docker_py_check.py', import.meta.url));
type Step = Record<string, unknown> & { step: string; ok: boolean; error?: string; trace?: string };

let sb: Sandbox;
const steps = new Map<string, Step>();
let raw = '';
before(async () => {
  sb = await startSandbox(undefined, { prefix: 'cpy' });
  const r = await sb.exec(['env', `DOCKER_HOST=${sb.dockerHost}`, 'python3', SCRIPT, 'dpy'], { timeoutMs: 240_000, allowFail: true });
  raw = `exit ${r.code}\n${r.stdout}\n${r.stderr}`;
  for (const line of lines(r.stdout)) {
    const s = JSON.parse(line) as Step;
    steps.set(s.step, s);
  }
});
after(async () => {
  await sb?.down();
});

/** The facts of one step, failing with the script's own error when the step failed. */
function facts(name: string): Step {
  const s = steps.get(name);
  assert.ok(s, `step ${name} missing from the script's output:\n${raw}`);
  assert.equal(s.ok, true, `step ${name} failed: ${s.error}\n${s.trace ?? ''}`);
  return s;
}

test('docker-py reaches the daemon at API 1.50 and every step ran', () => {
  const p = facts('ping');
  assert.equal(p.ping, true);
  assert.equal(p.api_version, '1.50');
  assert.ok(steps.has('done'), raw);
});

test('networks: create with IPAM and labels, connect with aliases and a static address, alias resolves, disconnect', () => {
  const n = facts('networks');
  assert.deepEqual([n.subnet, n.gateway, n.driver, n.labels], ['10.231.7.0/24', '10.231.7.1', 'bridge', { dpy: '1' }]);
  assert.deepEqual([n.ip, n.ipam_ip, n.driver_opts], ['10.231.7.50', '10.231.7.50', { 'com.docker-py.setting': 'on' }]);
  assert.ok((n.aliases as string[]).includes('dbalias') && (n.aliases as string[]).includes('other'), String(n.aliases));
  assert.deepEqual(n.members, ['dpy-cli', 'dpy-srv']);
  assert.equal(n.alias_ping_code, 0, String(n.alias_ping));
  assert.deepEqual(n.after_disconnect, ['bridge']);
  assert.deepEqual(n.listed_by_label, ['dpy-net']);
});

test('containers: logs split by stream, exec exit code and demux, stop, wait, remove', () => {
  const c = facts('containers');
  assert.equal(c.logs, 'out-line\nerr-line\n');
  assert.equal(c.logs_stdout, 'out-line\n');
  assert.deepEqual([c.exec_code, c.exec_out], [3, 'yes\n']);
  assert.deepEqual(c.demux, ['to-out\n', 'to-err\n']);
  // busybox sh as PID 1 ignores SIGTERM: stop kills it after the timeout, as Docker does (137).
  assert.deepEqual([c.running, c.stopped, c.exit_code, c.removed], ['running', 'exited', 137, true]);
});

test('volumes: create with labels, inspect, list by label, data survives containers, prune as Docker 28', () => {
  const v = facts('volumes');
  assert.deepEqual([v.name, v.driver, v.scope, v.labels, v.mountpoint_set], ['dpy-vol', 'local', 'local', { dpy: 'vol' }, true]);
  assert.deepEqual(v.listed, ['dpy-vol']);
  assert.equal(v.content, 'persisted\n');
  assert.deepEqual(v.pruned_default, [], 'a named volume is kept by prune without all=true');
  assert.deepEqual([v.pruned, v.dangling_left, v.space_reclaimed_type], [['dpy-dangling'], false, 'int']);
  assert.deepEqual([v.anonymous, v.anonymous_left], [[['volume', 64, '/anon', true]], false]);
});

test('events: since/until ends the stream, label and type filters apply', () => {
  const e = facts('events');
  assert.deepEqual(e.actions, ['create', 'start', 'die', 'destroy']);
  assert.deepEqual([e.names, e.types, e.time_fields], [['dpy-ev'], ['container'], true]);
  // Docker: the bridge network's connect at start and disconnect at exit, with container, name, type.
  assert.deepEqual([e.network_actions, e.network_attrs], [['connect', 'disconnect'], ['container', 'name', 'type']]);
});

test('stats: one-shot and streamed, with numeric network counters per interface', () => {
  const s = facts('stats');
  for (const k of ['cpu_stats', 'precpu_stats', 'memory_stats', 'blkio_stats', 'pids_stats', 'networks', 'read']) {
    assert.ok((s.keys as string[]).includes(k), `stats lacks ${k}: ${String(s.keys)}`);
  }
  assert.deepEqual(s.interfaces, ['eth0']);
  assert.deepEqual([s.rx_bytes_type, s.tx_bytes_type, s.rx_packets_type], ['int', 'int', 'int']);
  assert.deepEqual([s.memory_usage_type, s.cpu_total_type, s.pids_current_type], ['int', 'int', 'int']);
  assert.deepEqual([s.streamed, s.name], [2, '/dpy-srv']);
});

test('top (default and ps_args) and put_archive/get_archive round trip', () => {
  const t = facts('top');
  assert.deepEqual(t.titles, ['UID', 'PID', 'PPID', 'C', 'STIME', 'TTY', 'TIME', 'CMD']);
  assert.deepEqual(t.cmds, ['sleep 300']);
  assert.equal((t.aux_titles as string[])[0], 'USER');
  const a = facts('archive');
  assert.deepEqual([a.put, a.cat, a.content, a.mode], [true, 'hello from put_archive\n', 'hello from put_archive\n', '0o640']);
  assert.deepEqual([a.stat_name, a.stat_is_dir, a.members, a.missing], ['dpy', true, ['dpy', 'dpy/hello.txt'], 404]);
});

test('containers prune honours its label filter and keeps running containers', () => {
  const p = facts('prune');
  assert.deepEqual([p.deleted, p.left_after_label], [1, ['dpy-dead2']]);
  assert.deepEqual([p.deleted_all, p.left_after_all, p.reclaimed_type], [1, [], 'int']);
  assert.deepEqual(p.running_kept, ['dpy-cli', 'dpy-srv']);
});

test('logs follow, random published port, pause/unpause, diff, rename, update, df', () => {
  const d = facts('daily');
  assert.equal(d.followed, 'tick 1\ntick 2\ntick 3\n');
  assert.equal(d.host_ip, '0.0.0.0');
  assert.ok(Number(d.host_port) > 0, `HostPort ${d.host_port}`);
  assert.deepEqual([d.paused, d.unpaused, d.renamed, d.memory], ['paused', 'running', 'dpy-renamed', 64 * 1024 * 1024]);
  assert.deepEqual(d.diff, [{ Path: '/made-by-dpy', Kind: 1 }]);
  assert.deepEqual(d.df_keys, ['BuildCache', 'Containers', 'Images', 'LayersSize', 'Volumes']);
  assert.equal(d.df_has_container, true);
});

test("docker-py's swarm teardown: leave_swarm on a node outside a swarm is Docker's 503, accepted with force", () => {
  const s = facts('swarm_teardown');
  assert.deepEqual([s.status, s.message, s.forced_result, s.unforced_status], [503, 'This node is not part of a swarm', true, 503]);
});

test('the script removed everything it made', async () => {
  const c = facts('cleanup');
  assert.deepEqual(c.left, []);
  assert.deepEqual(lines((await sb.docker(['ps', '-aq'])).stdout), []);
  assert.deepEqual(lines((await sb.docker(['volume', 'ls', '-q'])).stdout), []);
});
