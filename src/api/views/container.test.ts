import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ContainerRecord, EndpointRecord, ExecRecord } from '../../engine/index.js';
import type { NetworkRecord } from '../../engine/index.js';
import { ZERO_TIME } from '../../util/time.js';
import {
  commandText, containerInspectView, hostConfigView, containerSummaryView, execInspectView, humanDuration, networkContainersView, parseTime, statusText,
} from './container.js';

const ID = 'c0ffee'.padEnd(64, '1');
const bridgeNet = { id: 'b'.repeat(64), name: 'bridge', predefined: true } as NetworkRecord;
const userNet = { id: 'u'.repeat(64), name: 'web', predefined: false } as NetworkRecord;
const nets = new Map([bridgeNet, userNet].map((n) => [n.id, n]));

function endpoint(over: Partial<EndpointRecord>): EndpointRecord {
  return {
    networkId: bridgeNet.id, networkName: 'bridge', endpointId: 'e'.repeat(64), ipamConfig: {}, aliases: [], links: [], macAddress: '02:42:ac:11:00:02',
    ipv4Address: '172.17.0.2', ipv4PrefixLen: 16, ipv4Gateway: '172.17.0.1', ipv6Address: '', ipv6PrefixLen: 0, ipv6Gateway: '', ifname: 'eth0',
    hostIfname: 'veth1', dnsNames: [], ...over,
  };
}

/** The value at a dotted path of a view (`at(v, 'NetworkSettings.Networks.web')`). */
function at(o: unknown, path: string): unknown {
  return path.split('.').reduce<unknown>((x, k) => (x as Record<string, unknown> | undefined)?.[k], o);
}

function record(over: Partial<ContainerRecord> = {}): ContainerRecord {
  return {
    id: ID, name: 'web', created: '2026-03-01T10:00:00.123456789Z', image: `sha256:${'a'.repeat(64)}`, imageRef: 'busybox', path: 'sh',
    args: ['-c', 'sleep 100'], config: { Cmd: ['sh', '-c', 'sleep 100'], Image: 'busybox', Tty: false }, hostConfig: { NetworkMode: 'bridge', AutoRemove: false },
    networkMode: 'bridge', endpoints: { bridge: endpoint({}) }, restartCount: 0, netns: 'redes-c0ffee',
    state: { status: 'running', pid: 42, exitCode: 0, error: '', startedAt: '2026-03-01T10:00:01.5Z', finishedAt: ZERO_TIME, oomKilled: false },
    hostnamePath: '/d/hostname', hostsPath: '/d/hosts', resolvConfPath: '/d/resolv.conf', logPath: '/d/log', dir: '/d', ...over,
  };
}

test('humanDuration follows docker/go-units', () => {
  const s = 1000;
  const h = 3600 * s;
  const cases: Array<[number, string]> = [
    [0, 'Less than a second'], [999, 'Less than a second'], [1 * s, '1 second'], [59 * s, '59 seconds'], [60 * s, 'About a minute'],
    [119 * s, 'About a minute'], [120 * s, '2 minutes'], [59 * 60 * s, '59 minutes'], [60 * 60 * s, 'About an hour'], [89 * 60 * s, 'About an hour'],
    [90 * 60 * s, '2 hours'], [47 * h, '47 hours'], [48 * h, '2 days'], [13 * 24 * h, '13 days'], [14 * 24 * h, '2 weeks'], [59 * 24 * h, '8 weeks'],
    [60 * 24 * h, '2 months'], [729 * 24 * h, '24 months'], [730 * 24 * h, '2 years'],
  ];
  for (const [ms, text] of cases) assert.equal(humanDuration(ms), text, `${ms} ms`);
});

test('statusText gives the docker ps Status column', () => {
  const now = Date.parse('2026-03-01T10:00:04.6Z');
  const st = record().state;
  assert.equal(statusText(st, now), 'Up 3 seconds');
  assert.equal(statusText({ ...st, status: 'paused' }, now), 'Up 3 seconds (Paused)');
  const exited = { ...st, status: 'exited' as const, exitCode: 3, finishedAt: '2026-03-01T09:58:00Z' };
  assert.equal(statusText(exited, now), 'Exited (3) 2 minutes ago');
  assert.equal(statusText({ ...st, status: 'created', startedAt: ZERO_TIME }, now), 'Created');
  assert.equal(statusText({ ...exited, status: 'restarting' }, now), 'Restarting (3) 2 minutes ago');
  assert.equal(statusText({ ...st, status: 'dead' }, now), 'Dead');
  assert.equal(statusText({ ...st, status: 'removing' }, now), 'Removal In Progress');
});

test('parseTime reads nanosecond RFC 3339 and treats Go zero time as unset', () => {
  assert.equal(parseTime('2026-03-01T10:00:00.123456789Z'), Date.parse('2026-03-01T10:00:00.123Z'));
  assert.equal(parseTime('2026-03-01T12:00:00.5+02:00'), Date.parse('2026-03-01T10:00:00.500Z'));
  assert.equal(parseTime(ZERO_TIME), null);
  assert.equal(parseTime(''), null);
});

test('inspect of a container on the default bridge fills the legacy top-level address fields', () => {
  const v = containerInspectView(record(), nets);
  assert.equal(at(v, 'Name'), '/web');
  assert.deepEqual(at(v, 'State'), {
    Status: 'running', Running: true, Paused: false, Restarting: false, OOMKilled: false, Dead: false, Pid: 42, ExitCode: 0, Error: '',
    StartedAt: '2026-03-01T10:00:01.5Z', FinishedAt: ZERO_TIME,
  });
  const ns = at(v, 'NetworkSettings');
  assert.equal(at(ns, 'SandboxKey'), '/run/netns/redes-c0ffee');
  assert.equal(at(ns, 'IPAddress'), '172.17.0.2');
  assert.equal(at(ns, 'IPPrefixLen'), 16);
  assert.equal(at(ns, 'Gateway'), '172.17.0.1');
  assert.equal(at(ns, 'MacAddress'), '02:42:ac:11:00:02');
  assert.equal(at(ns, 'EndpointID'), 'e'.repeat(64));
  assert.deepEqual(at(ns, 'Networks.bridge'), {
    IPAMConfig: null, Links: null, Aliases: null, MacAddress: '02:42:ac:11:00:02', DriverOpts: null, GwPriority: 0, NetworkID: bridgeNet.id,
    EndpointID: 'e'.repeat(64), Gateway: '172.17.0.1', IPAddress: '172.17.0.2', IPPrefixLen: 16, IPv6Gateway: '', GlobalIPv6Address: '',
    GlobalIPv6PrefixLen: 0, DNSNames: null,
  });
  assert.equal(at(v, 'HostConfig.NetworkMode'), 'bridge');
  assert.deepEqual(at(v, 'HostConfig.RestartPolicy'), { Name: 'no', MaximumRetryCount: 0 });
  assert.deepEqual(at(v, 'HostConfig.LogConfig'), { Type: 'json-file', Config: {} });
  assert.equal(at(v, 'HostConfig.AutoRemove'), false);
  assert.equal(at(v, 'Config.Image'), 'busybox');
  assert.equal(at(v, 'Config.Hostname'), ID.slice(0, 12));
  assert.equal(at(v, 'ExecIDs'), null);
});

test('inspect of a container on a user network leaves the legacy fields empty and shows DNS names', () => {
  const ep = endpoint({ networkId: userNet.id, networkName: 'web', ipv4Address: '10.1.0.5', ipv4PrefixLen: 24, ipv4Gateway: '10.1.0.1', aliases: ['db'], dnsNames: ['web', 'db', ID.slice(0, 12)], ipamConfig: { ipv4Address: '10.1.0.5' }, driverOpts: { 'com.docker-py.setting': 'on' } });
  const v = containerInspectView(record({ networkMode: 'web', endpoints: { web: ep } }), nets, { execIds: ['x'] });
  const ns = at(v, 'NetworkSettings');
  assert.equal(at(ns, 'IPAddress'), '');
  assert.equal(at(ns, 'EndpointID'), '');
  assert.equal(at(ns, 'Networks.web.IPAddress'), '10.1.0.5');
  assert.deepEqual(at(ns, 'Networks.web.IPAMConfig'), { IPv4Address: '10.1.0.5' });
  assert.deepEqual(at(ns, 'Networks.web.Aliases'), ['db']);
  assert.deepEqual(at(ns, 'Networks.web.DriverOpts'), { 'com.docker-py.setting': 'on' });
  assert.deepEqual(at(ns, 'Networks.web.DNSNames'), ['web', 'db', ID.slice(0, 12)]);
  assert.deepEqual(at(v, 'ExecIDs'), ['x']);
});

test('HostConfig values the CLI sends as unset are shown as dockerd fills them', () => {
  const hc = hostConfigView({ LogConfig: { Type: '', Config: null }, RestartPolicy: { Name: '', MaximumRetryCount: 0 }, IpcMode: '', ShmSize: 0, MemorySwappiness: -1, PidsLimit: 0, Privileged: true }, 'host');
  assert.deepEqual(hc.LogConfig, { Type: 'json-file', Config: {} });
  assert.deepEqual(hc.RestartPolicy, { Name: 'no', MaximumRetryCount: 0 });
  assert.equal(hc.IpcMode, 'private');
  assert.equal(hc.ShmSize, 67108864);
  assert.equal(hc.MemorySwappiness, null);
  assert.equal(hc.PidsLimit, null);
  assert.equal(hc.Privileged, true);
  assert.equal(hc.NetworkMode, 'host');
  assert.equal(hc.Runtime, 'runc');
});

test('a container in another container\'s namespace shows no networks; a stopped one no sandbox', () => {
  const shared = containerInspectView(record({ networkMode: `container:${'f'.repeat(64)}` }), nets);
  assert.deepEqual(at(shared, 'NetworkSettings.Networks'), {});
  assert.equal(at(shared, 'NetworkSettings.IPAddress'), '');
  assert.equal(at(shared, 'HostConfig.NetworkMode'), `container:${'f'.repeat(64)}`);
  const stopped = record({ state: { ...record().state, status: 'exited', pid: 0 } });
  const v = containerInspectView(stopped, nets);
  assert.equal(at(v, 'NetworkSettings.SandboxKey'), '');
  assert.deepEqual(at(v, 'NetworkSettings.Ports'), {});
});

test('ports: exposed but unpublished is null, fixed bindings default to 0.0.0.0; summary lists both', () => {
  const rec = record({
    config: { ExposedPorts: { '80/tcp': {}, '53/udp': {} } },
    hostConfig: { PortBindings: { '80/tcp': [{ HostIp: '', HostPort: '8080' }], '443/tcp': [{ HostIp: '127.0.0.1', HostPort: '' }] } },
  });
  const v = containerInspectView(rec, nets);
  assert.deepEqual(at(v, 'NetworkSettings.Ports'), { '80/tcp': [{ HostIp: '0.0.0.0', HostPort: '8080' }], '53/udp': null, '443/tcp': null });
  const s = containerSummaryView(rec, Date.now());
  assert.deepEqual(s.Ports, [{ IP: '0.0.0.0', PrivatePort: 80, PublicPort: 8080, Type: 'tcp' }, { PrivatePort: 53, Type: 'udp' }, { PrivatePort: 443, Type: 'tcp' }]);
});

test('summary view: names, command, created seconds, status and networks', () => {
  const now = Date.parse('2026-03-01T10:00:04.6Z');
  const s = containerSummaryView(record(), now) as Record<string, unknown>;
  assert.deepEqual(s.Names, ['/web']);
  assert.equal(s.Image, 'busybox');
  assert.equal(s.Command, "sh -c 'sleep 100'");
  assert.equal(s.Created, Math.floor(Date.parse('2026-03-01T10:00:00Z') / 1000));
  assert.equal(s.State, 'running');
  assert.equal(s.Status, 'Up 3 seconds');
  assert.deepEqual(s.HostConfig, { NetworkMode: 'bridge' });
  assert.deepEqual(Object.keys((s.NetworkSettings as { Networks: object }).Networks), ['bridge']);
  assert.deepEqual(s.Labels, {});
  assert.equal(commandText('/bin/true', []), '/bin/true');
});

test('exec inspect shows detach keys as base64 bytes and omits an empty user', () => {
  const e: ExecRecord = {
    id: 'x', containerId: ID, running: false, exitCode: 2, pid: 0, openStdin: true, openStdout: true, openStderr: true, tty: true, entrypoint: 'sh',
    arguments: ['-c', 'exit 2'], privileged: false, user: '', workingDir: '', env: [], detachKeys: 'ctrl-p,ctrl-q', canRemove: false,
  };
  const v = execInspectView(e);
  assert.equal(v.DetachKeys, 'EBE=');
  assert.deepEqual(v.ProcessConfig, { tty: true, entrypoint: 'sh', arguments: ['-c', 'exit 2'], privileged: false });
  assert.equal(v.ExitCode, 2);
  assert.equal(execInspectView({ ...e, detachKeys: '', user: '1000' }).DetachKeys, '');
});

test('network Containers map lists running endpoints with CIDR addresses', () => {
  const rec = record();
  const m = networkContainersView([
    { container: rec, endpoint: endpoint({ ipv6Address: 'fd00::2', ipv6PrefixLen: 64 }) },
    { container: { ...rec, id: 'stopped' }, endpoint: endpoint({ endpointId: '' }) },
  ]);
  assert.deepEqual(m, { [ID]: { Name: 'web', EndpointID: 'e'.repeat(64), MacAddress: '02:42:ac:11:00:02', IPv4Address: '172.17.0.2/16', IPv6Address: 'fd00::2/64' } });
});
