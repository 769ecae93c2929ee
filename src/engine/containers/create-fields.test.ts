/**
 * The create-field table against the API definition: every property of the swagger's ContainerConfig,
 * HostConfig (with Resources), EndpointSettings and EndpointIPAMConfig has a row, and the check
 * refuses what the table refuses, by name. The property lists come from testdata (extracted from the
 * v1.50 swagger); when the swagger itself is at hand (REDES_API_SPEC or the shared reference path),
 * the lists are compared with it as well, so the fixture cannot drift.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { checkCreateFields, checkEndpointFields, FIELD_TABLES, refusal } from './create-fields.js';

const fixture = JSON.parse(readFileSync(fileURLToPath(new URL('../../../../src/engine/containers/testdata/create-fields-v1.50.json', import.meta.url)), 'utf8')) as Record<string, string[]>;

const TABLE_OF: Record<string, keyof typeof FIELD_TABLES> = {
  ContainerConfig: 'Config',
  HostConfig: 'HostConfig',
  EndpointSettings: 'EndpointSettings',
  EndpointIPAMConfig: 'EndpointIPAMConfig',
};

test('every swagger field of Config, HostConfig and EndpointSettings has a row in the table', () => {
  for (const [def, table] of Object.entries(TABLE_OF)) {
    const fields = fixture[def] ?? [];
    assert.ok(fields.length > 10 || def === 'EndpointIPAMConfig', `${def} lists its fields`);
    const missing = fields.filter((f) => !FIELD_TABLES[table][f]);
    assert.deepEqual(missing, [], `${def} fields without a row`);
    const extra = Object.keys(FIELD_TABLES[table]).filter((f) => !fields.includes(f));
    assert.deepEqual(extra, [], `${table} rows that are no ${def} field`);
  }
});

test('the fixture matches the swagger when it is at hand', (t) => {
  const path = process.env.REDES_API_SPEC ?? '/work/shared/reference/docker-engine-api-v1.50.yaml';
  if (!existsSync(path)) {
    t.diagnostic(`no swagger at ${path}: the committed field lists are used alone`);
    return;
  }
  type Def = { properties?: Record<string, unknown>; allOf?: Array<Def & { $ref?: string }> };
  const defs = (parse(readFileSync(path, 'utf8')) as { definitions: Record<string, Def> }).definitions;
  const fields = (name: string): string[] => {
    const d = defs[name] as Def;
    if (!d.allOf) return Object.keys(d.properties ?? {});
    return d.allOf.flatMap((p) => (p.$ref ? fields(p.$ref.split('/').pop() as string) : Object.keys(p.properties ?? {})));
  };
  for (const def of [...Object.keys(TABLE_OF), 'Mount']) assert.deepEqual(fixture[def], fields(def), def);
});

test('what the CLI sends for a plain docker run passes', () => {
  const hostConfig = {
    Binds: null, ContainerIDFile: '', LogConfig: { Type: '', Config: {} }, NetworkMode: 'default', PortBindings: {},
    RestartPolicy: { Name: 'no', MaximumRetryCount: 0 }, AutoRemove: true, VolumeDriver: '', VolumesFrom: null, ConsoleSize: [0, 0],
    CgroupnsMode: '', Dns: [], IpcMode: '', ShmSize: 0, MemorySwappiness: -1, OomKillDisable: false, PidsLimit: 0, Ulimits: [],
    BlkioWeightDevice: [], MaskedPaths: null, Isolation: '', Runtime: '',
  };
  const endpoint = { IPAMConfig: null, Links: null, Aliases: null, MacAddress: '', DriverOpts: null, GwPriority: 0, NetworkID: '', IPPrefixLen: 0 };
  checkCreateFields({ Image: 'busybox', Cmd: ['true'], Volumes: {}, OnBuild: null, Labels: {}, HostConfig: hostConfig, NetworkingConfig: { EndpointsConfig: { default: endpoint } } });
});

test('a refused field that is set fails with its name', () => {
  assert.throws(() => checkCreateFields({ Image: 'b', HostConfig: { BlkioWeight: 300 } }), /HostConfig\.BlkioWeight is not supported by this engine: /);
  assert.throws(() => checkCreateFields({ Image: 'b', ArgsEscaped: true }), /Config\.ArgsEscaped is not supported/);
  assert.throws(() => checkEndpointFields({ GwPriority: 5 }, 'n1'), /EndpointsConfig\["n1"\]\.GwPriority is not supported/);
});

test('endpoint LinkLocalIPs and the sysctls driver option are honoured', () => {
  checkEndpointFields({ IPAMConfig: { LinkLocalIPs: ['169.254.1.1'] }, DriverOpts: { 'com.docker.network.endpoint.sysctls': 'net.ipv4.conf.IFNAME.forwarding=1' } }, 'n1');
});

test('handled fields refuse the values they cannot honour', () => {
  assert.throws(() => checkCreateFields({ Image: 'b', HostConfig: { Runtime: 'crun' } }), /HostConfig\.Runtime .*"crun"/);
  checkCreateFields({ Image: 'b', HostConfig: { LogConfig: { Type: 'json-file', Config: { 'max-size': '1m' } }, Runtime: 'runc' } });
});

test('an unknown field is refused when set, ignored when zero', () => {
  assert.equal(refusal(undefined, 0), undefined);
  assert.equal(refusal(undefined, null), undefined);
  assert.throws(() => checkCreateFields({ Image: 'b', HostConfig: { KernelMemory: 1 << 20 } }), /HostConfig\.KernelMemory is not supported by this engine: unknown field/);
});

test('output fields of an endpoint are ignored on input', () => {
  checkEndpointFields({ IPAddress: '10.0.0.9', EndpointID: 'abc', Gateway: '10.0.0.1' }, 'n1');
});

test("endpoint DriverOpts are kept, except Docker's own com.docker.network.endpoint.* options other than sysctls, refused by name", () => {
  checkEndpointFields({ DriverOpts: { 'com.docker-py.setting': 'on', 'com.docker.network.endpoint.sysctls': 'net.ipv4.conf.IFNAME.forwarding=1' } }, 'n1');
  assert.throws(
    () => checkEndpointFields({ DriverOpts: { a: 'b', 'com.docker.network.endpoint.ifname': 'data0' } }, 'n1'),
    /EndpointsConfig\["n1"\]\.DriverOpts is not supported by this engine: the endpoint driver option "com\.docker\.network\.endpoint\.ifname" is not supported/,
  );
});
