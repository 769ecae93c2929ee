/**
 * fast-check arbitraries for fuzzing the Engine API: values that look like what a client sends
 * (names, CIDRs, addresses, driver options, commands) mixed with hostile ones (wrong JSON types,
 * huge strings, `../`, shell metacharacters, control characters and unicode, CIDRs /0 /31 /32,
 * v4-mapped v6, multicast, loopback, link-local, unknown driver options).
 *
 * Use: `fc.sample(plausible.networkCreateBody)` (or `hostileBodies.…`); test/e2e/fuzz.test.ts sends them to a real redesd.
 * Beware: the values must stay inside the sandbox's world: addresses outside 10/8, fd00::/8 and the
 * documentation ranges only ever reach the API's validation (no test traffic is sent to them).
 */
import fc from 'fast-check';

/** Strings a careless or hostile client sends. */
const NASTY = [
  '', ' ', '.', '..', '../', '../../../../etc/passwd', '..\\..\\x', '/etc/shadow', 'a/../../b', '%2e%2e%2f',
  '; rm -rf /', '$(reboot)', '`id`', 'a|b', 'a&&b', 'x > /tmp/p', "'\"", '${IFS}', '\n', '\r\n', '\t', '\u0000', 'a\u0000b',
  'é', 'ñandú', '😀', '\u202e', '\ud800', 'Ω≈ç√', '\uffff', 'ｆｕｌｌ', 'a'.repeat(300), 'b'.repeat(70_000),
  'eth0', 'lo', 'docker0', 'bridge', 'host', 'none', 'default', '-rf', '--help', '0', '-1', '1e309', 'NaN', 'null', 'true',
];

export const nastyString: fc.Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...NASTY) },
  { weight: 2, arbitrary: fc.string({ maxLength: 40 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
  { weight: 1, arbitrary: fc.tuple(fc.constantFrom(...NASTY), fc.string({ maxLength: 8 })).map(([a, b]) => a + b) },
);

/** Any JSON value (the wrong type for most fields). */
export const anyJson: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom(null, true, false, 0, -1, 1.5, 2 ** 53, -(2 ** 31), 1e308, '', [], {}),
  fc.jsonValue({ maxDepth: 3 }),
);

/** A field: mostly a plausible value, sometimes a hostile string or any JSON. */
export function field<T>(plausible: fc.Arbitrary<T>): fc.Arbitrary<unknown> {
  return fc.oneof({ weight: 6, arbitrary: plausible }, { weight: 2, arbitrary: nastyString }, { weight: 2, arbitrary: anyJson });
}

/** A value that works most of the time, else one of the edge cases. */
export function mostly<T>(valid: fc.Arbitrary<T> | T, ...edges: T[]): fc.Arbitrary<T> {
  const v = valid instanceof fc.Arbitrary ? valid : fc.constant(valid);
  return edges.length ? fc.oneof({ weight: 6, arbitrary: v }, { weight: 1, arbitrary: fc.constantFrom(...edges) }) : v;
}

/** Whether `someOf` mixes hostile values into every field (else: plausible values only). */
let hostile = true;

/** An object with any subset of the given fields, each a `field(...)` of its own when hostile. */
export function someOf(fields: Record<string, fc.Arbitrary<unknown>>): fc.Arbitrary<Record<string, unknown>> {
  const wrapped: Record<string, fc.Arbitrary<unknown>> = {};
  for (const [k, a] of Object.entries(fields)) wrapped[k] = hostile ? field(a) : a;
  return fc.record(wrapped, { requiredKeys: [] }) as fc.Arbitrary<Record<string, unknown>>;
}

const octet = fc.integer({ min: 0, max: 255 });
const v4 = fc.tuple(octet, octet, octet, octet).map((o) => o.join('.'));
const hex = fc.integer({ min: 0, max: 0xffff }).map((n) => n.toString(16));

/** Special CIDRs: /0, /31, /32, v4-mapped v6, multicast, loopback, link-local, the sandbox's uplink. */
const SPECIAL_CIDRS = [
  '0.0.0.0/0', '10.99.0.0/31', '10.99.0.1/32', '10.99.0.5/24', '::/0', '::ffff:10.0.0.0/104', '::ffff:10.98.0.0/120',
  '::ffff:0:0/96', '224.0.0.0/4', '239.1.0.0/16', 'ff02::/64', 'ff00::/8', '127.0.0.0/8', '127.1.0.0/24', '169.254.0.0/16',
  'fe80::/64', 'fe80::/10', '::1/128', '203.0.113.0/24', '198.51.100.0/25', '255.255.255.255/32', '10.97.0.0/33',
  '10.97.0.0/-1', '10.97.0.0/', '10.97.0.0', '10.97.0.0/24/24', '1.2.3.4.5/8', '10.97.256.0/24', 'fd00:1::/64', 'fd00:2::/127',
  'fd00:3::/128', 'fd00::/7', 'FD00:4::/64', '10.96.0.0/08', '0x0a.0.0.0/8', '010.96.0.0/24',
];

export const cidr: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(...SPECIAL_CIDRS),
  fc.tuple(fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 33 })).map(([b, n]) => `10.${b}.0.0/${n}`),
  fc.tuple(v4, fc.integer({ min: 0, max: 32 })).map(([a, n]) => `${a}/${n}`),
  fc.tuple(hex, fc.integer({ min: 0, max: 129 })).map(([h, n]) => `fd00:${h}::/${n}`),
);

/** A /24 of 10.100-199 (never the fixture's 10.88.0.0/24). */
const subnet24 = fc.tuple(fc.integer({ min: 100, max: 199 }), octet).map(([b, c]) => `10.${b}.${c}.0/24`);

export const ipAddress: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom('10.99.0.0', '10.99.0.1', '10.99.0.255', '10.88.0.7', '0.0.0.0', '255.255.255.255', '127.0.0.1', '224.0.0.1',
    '169.254.1.1', '::', '::1', '::ffff:10.88.0.7', 'fe80::1', 'ff02::1', 'fd00:88::7', '1.2.3', '1.2.3.4.5', '300.1.1.1', 'fd00::g'),
  v4,
  fc.tuple(fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 255 })).map(([c, d]) => `10.88.${c}.${d}`),
  fc.integer({ min: 0, max: 255 }).map((d) => `10.89.0.${d}`),
);

export const macAddress: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom('02:42:ac:11:00:02', '01:00:5e:00:00:01', 'ff:ff:ff:ff:ff:ff', '00:00:00:00:00:00', 'zz:zz', '02-42-ac-11-00-02', '02:42:ac:11:00'),
  fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 6, maxLength: 6 }).map((b) => b.map((x) => x.toString(16).padStart(2, '0')).join(':')),
);

const goodMac = fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 5, maxLength: 5 }).map((b) => ['02', ...b.map((x) => x.toString(16).padStart(2, '0'))].join(':'));

/** Docker names and what is not one. */
export const name: fc.Arbitrary<string> = fc.oneof(
  fc.stringMatching(/^[a-z][a-z0-9_.-]{0,12}$/),
  nastyString,
);

const stringMap = (keys: fc.Arbitrary<string>, values: fc.Arbitrary<string>): fc.Arbitrary<Record<string, string>> =>
  fc.dictionary(keys, values, { maxKeys: 4 });

/** Bridge and macvlan driver options, known and unknown, with plausible and hostile values. */
const driverOptionKey = fc.constantFrom(
  'com.docker.network.bridge.name', 'com.docker.network.driver.mtu', 'com.docker.network.bridge.enable_icc',
  'com.docker.network.bridge.enable_ip_masquerade', 'com.docker.network.bridge.host_binding_ipv4',
  'com.docker.network.bridge.default_bridge', 'com.docker.network.bridge.gateway_mode_ipv4', 'com.docker.network.bridge.inhibit_ipv4',
  'com.docker.network.bridge.trusted_host_interfaces', 'parent', 'macvlan_mode', 'encrypted', 'foo', 'x.y.z', '',
);
const driverOptionValue = fc.oneof(
  fc.constantFrom('true', 'false', '1', '0', 'yes', '1500', '68', '67', '65536', '9000', '-1', 'br-fuzz', 'eth0', 'lo', 'bridge', 'nat', 'routed',
    '0.0.0.0', '127.0.0.1', '1.2.3.999', '::1', 'bridge', 'private', 'vepa', 'passthru'),
  nastyString,
);
/** Known options with values they accept, now and then an unknown key or a bad value. */
const goodDriverOption = fc.oneof(
  fc.tuple(fc.constant('com.docker.network.driver.mtu'), fc.constantFrom('1500', '1400', '9000', '68')),
  fc.tuple(fc.constantFrom('com.docker.network.bridge.enable_icc', 'com.docker.network.bridge.enable_ip_masquerade'), fc.constantFrom('true', 'false')),
  fc.tuple(fc.constant('com.docker.network.bridge.name'), fc.stringMatching(/^brfz[a-z0-9]{1,6}$/)),
  fc.tuple(fc.constant('com.docker.network.bridge.host_binding_ipv4'), fc.constantFrom('0.0.0.0', '127.0.0.1', '10.88.0.1')),
);
export const driverOptions = fc.oneof(
  { weight: 3, arbitrary: fc.array(goodDriverOption, { maxLength: 2 }).map((kv) => Object.fromEntries(kv) as Record<string, string>) },
  { weight: 1, arbitrary: stringMap(driverOptionKey, driverOptionValue) },
);

function bodies(h: boolean) {
  hostile = h;
  /** POST /networks/create bodies. */
  const networkCreateBody: fc.Arbitrary<Record<string, unknown>> = fc
    .tuple(
      fc.oneof({ weight: 4, arbitrary: fc.stringMatching(/^fz[a-z0-9]{1,8}$/) }, { weight: 1, arbitrary: name }),
      someOf({
        Driver: mostly('bridge', 'macvlan', 'overlay', 'null', 'host', 'ipvlan', 'nope', 'bridge '),
        Internal: fc.boolean(),
        Attachable: fc.boolean(),
        EnableIPv6: mostly(false, true),
        EnableIPv4: mostly(true, false),
        CheckDuplicate: fc.boolean(),
        Scope: mostly('local', 'swarm', 'global'),
        Ingress: mostly(false, true),
        ConfigOnly: mostly(false, true),
        Options: driverOptions,
        Labels: stringMap(nastyString, nastyString),
        IPAM: someOf({
          Driver: mostly('default', 'null', 'dhcp', 'nope'),
          Options: stringMap(nastyString, nastyString),
          Config: fc.array(
            someOf({ Subnet: mostly(subnet24, ...SPECIAL_CIDRS), IPRange: cidr, Gateway: ipAddress, AuxiliaryAddresses: stringMap(name, ipAddress) }),
            { maxLength: 2 },
          ),
        }),
      }),
    )
    .map(([Name, rest]) => ({ Name, ...rest }));

  const port = fc.oneof(fc.integer({ min: 1, max: 65535 }), fc.constantFrom(0, -1, 65536, 80, 53));
  const portKey = fc.oneof(
    fc.tuple(port, fc.constantFrom('tcp', 'udp', 'sctp', 'icmp', '')).map(([p, proto]) => (proto ? `${p}/${proto}` : String(p))),
    fc.constantFrom('80-90/tcp', '1-70000', 'x/tcp', '/tcp', '80/'),
  );
  const hostPort = fc.oneof(
    fc.integer({ min: 20_000, max: 20_999 }).map(String),
    fc.constantFrom('', '0', '65536', '-5', 'abc', '21000-21005', '21010-21000', '80'),
  );
  const portBindings = fc.dictionary(
    portKey,
    fc.array(someOf({ HostIp: fc.oneof(ipAddress, fc.constantFrom('', '0.0.0.0', '::')), HostPort: hostPort }), { maxLength: 2 }),
    { maxKeys: 2 },
  );

  const commandLine = fc.oneof(
    fc.constantFrom(['true'], ['sh', '-c', 'exit 3'], ['echo', '$(id)'], ['sleep', '0'], ['no-such-program'], ['/'], ['../../bin/sh', '-c', 'true'], []),
    fc.array(nastyString, { maxLength: 3 }),
  );

  const endpointSettings = someOf({
    IPAMConfig: someOf({ IPv4Address: ipAddress, IPv6Address: mostly(fc.constant(''), 'fd00:88::7', '::1'), LinkLocalIPs: mostly(fc.constant([] as string[]), ['169.254.1.1']) }),
    Aliases: fc.array(name, { maxLength: 3 }),
    Links: fc.array(fc.constantFrom('fzc:alias', 'nope:x', '../:y', 'fzc'), { maxLength: 2 }),
    MacAddress: mostly(goodMac, 'zz:zz', 'ff:ff:ff:ff:ff:ff'),
    DriverOpts: mostly({} as Record<string, string>, { foo: 'bar' }),
    GwPriority: mostly(fc.constant(undefined as number | undefined), 1, -1),
    NetworkID: name,
  });

  /** POST /containers/create bodies (Image is busybox most of the time). */
  const containerCreateBody: fc.Arbitrary<Record<string, unknown>> = fc
    .tuple(
      fc.oneof({ weight: 5, arbitrary: fc.constant('busybox') }, { weight: 1, arbitrary: fc.constantFrom('busybox:latest', 'nope', '../busybox', 'BUSYBOX', '') }),
      fc.oneof({ weight: 3, arbitrary: fc.constant(['true']) }, { weight: 1, arbitrary: commandLine }),
      someOf({
        Env: fc.array(mostly(fc.constantFrom('A=1', 'PATH=/bin', 'A=$(id)', 'B=é', 'C='), '=x', 'NOEQ', '', 'a\u0000b=1'), { maxLength: 3 }),
        Entrypoint: commandLine,
        Hostname: mostly(fc.stringMatching(/^[a-z][a-z0-9-]{0,20}$/), 'h'.repeat(63), 'h'.repeat(64), 'h'.repeat(300), 'a.b.c', '-x', '../x'),
        Domainname: name,
        User: mostly(fc.constantFrom('root', '0', '0:0', '1000:1000', 'nobody'), 'nosuchuser', '../', 'a:b:c'),
        WorkingDir: mostly(fc.constantFrom('/', '/tmp', '/no/such/dir', '/etc/passwd'), 'relative', '../..', '/proc/self'),
        Labels: stringMap(nastyString, nastyString),
        ExposedPorts: fc.dictionary(portKey, fc.constant({}), { maxKeys: 2 }),
        MacAddress: mostly(goodMac, 'zz:zz', '01:00:5e:00:00:01', '02:42:ac:11:00'),
        StopSignal: mostly(fc.constantFrom('SIGTERM', 'KILL', '9', 'RTMIN+3'), 'SIGNOPE', '100'),
        StopTimeout: fc.integer({ min: -2, max: 5 }),
        HostConfig: someOf({
          NetworkMode: mostly(fc.constantFrom('bridge', 'fz', 'fz2', 'default', 'none'), 'host', 'container:fzc', 'container:nope', 'nope', '../fz'),
          PortBindings: portBindings,
          PublishAllPorts: fc.boolean(),
          Dns: fc.array(ipAddress, { maxLength: 2 }),
          DnsSearch: fc.array(name, { maxLength: 2 }),
          DnsOptions: fc.array(fc.constantFrom('ndots:2', 'rotate', 'x'), { maxLength: 2 }),
          ExtraHosts: fc.array(fc.oneof(fc.constantFrom('a:10.88.0.1', 'b:host-gateway', 'c=::1', 'bad', 'd:999.1.1.1'), nastyString), { maxLength: 2 }),
          Links: fc.array(fc.constantFrom('fzc:alias', 'nope:x', '../:y', 'fzc'), { maxLength: 2 }),
          CapAdd: fc.array(fc.constantFrom('NET_ADMIN', 'CAP_NET_RAW', 'ALL', 'NOPE'), { maxLength: 2 }),
          CapDrop: fc.array(fc.constantFrom('NET_RAW', 'ALL', 'NOPE'), { maxLength: 2 }),
          Sysctls: stringMap(fc.constantFrom('net.ipv4.ip_forward', 'net.core.somaxconn', 'kernel.shmmax', '../x', 'net.ipv4.conf.all.rp_filter'), fc.constantFrom('1', '0', 'x')),
          Memory: mostly(fc.integer({ min: 8 * 2 ** 20, max: 2 ** 31 }), -1, 0, 1, 2 ** 53),
          RestartPolicy: mostly(fc.record({ Name: fc.constantFrom('no', 'always', 'unless-stopped') }), { Name: 'on-failure', MaximumRetryCount: -1 } as { Name: string }, { Name: 'nope' }),
          ReadonlyRootfs: fc.boolean(),
          Init: fc.boolean(),
          SecurityOpt: fc.array(mostly(fc.constantFrom('no-new-privileges', 'seccomp=unconfined', 'label=disable'), 'apparmor=nope', 'x'), { maxLength: 2 }),
        }),
        NetworkingConfig: someOf({ EndpointsConfig: fc.dictionary(fc.constantFrom('fz', 'fz2', 'bridge', 'nope', 'host', '../x'), endpointSettings, { maxKeys: 2 }) }),
      }),
    )
    .map(([Image, Cmd, rest]) => ({ Image, Cmd, ...rest }));

  /** POST /networks/{id}/connect bodies (the container is the fixture `fzc` most of the time). */
  const connectBody: fc.Arbitrary<Record<string, unknown>> = fc
    .tuple(fc.oneof({ weight: 5, arbitrary: fc.constant('fzc') }, { weight: 1, arbitrary: name }), someOf({ EndpointConfig: endpointSettings }))
    .map(([Container, rest]) => ({ Container, ...rest }));

  const disconnectBody: fc.Arbitrary<Record<string, unknown>> = fc
    .tuple(fc.oneof({ weight: 5, arbitrary: fc.constant('fzc') }, { weight: 1, arbitrary: name }), someOf({ Force: fc.boolean() }))
    .map(([Container, rest]) => ({ Container, ...rest }));

  /** POST /containers/{id}/exec bodies. */
  const execBody: fc.Arbitrary<Record<string, unknown>> = fc
    .tuple(
      fc.oneof({ weight: 3, arbitrary: fc.constant(['true']) }, { weight: 2, arbitrary: commandLine }),
      someOf({
        Env: fc.array(mostly(fc.constantFrom('A=1', 'HOME=/x', 'NOEQ', ''), '=x', 'a\u0000b=1'), { maxLength: 3 }),
        User: mostly(fc.constantFrom('root', '0', '1000:1000'), 'nosuchuser', '../'),
        WorkingDir: mostly(fc.constantFrom('/', '/tmp', '/no/such/dir'), 'relative', '../..'),
        Tty: fc.boolean(),
        AttachStdin: fc.boolean(),
        AttachStdout: fc.boolean(),
        AttachStderr: fc.boolean(),
        Privileged: fc.boolean(),
        DetachKeys: fc.constantFrom('ctrl-p,ctrl-q', 'ctrl-x', 'a,b,c', 'ctrl-', ''),
        ConsoleSize: fc.array(fc.integer({ min: -1, max: 5000 }), { maxLength: 3 }),
      }),
    )
    .map(([Cmd, rest]) => ({ Cmd, ...rest }));

  hostile = true;
  return { networkCreateBody, containerCreateBody, connectBody, disconnectBody, execBody };
}

/** Request bodies: `plausible` ones (every field a value a client could mean) and `hostile` ones. */
export const plausible = bodies(false);
export const hostileBodies = bodies(true);

/** Values of the `filters` query of list endpoints: JSON maps of plausible and hostile terms, or junk. */
export const filtersQuery: fc.Arbitrary<string> = fc.oneof(
  fc
    .dictionary(
      fc.oneof(fc.constantFrom('name', 'id', 'label', 'driver', 'type', 'scope', 'status', 'network', 'ancestor', 'before', 'since',
        'publish', 'expose', 'health', 'is-task', 'exited', 'volume', 'dangling', 'reference', 'until', 'nope'), nastyString),
      fc.oneof(
        fc.array(fc.oneof(fc.constantFrom('fz', 'fzc', 'bridge', 'running', 'custom', 'builtin', '80/tcp', '1-2/udp', 'a=b', 'true', '1h', '../'), nastyString), { maxLength: 3 }),
        fc.dictionary(nastyString, fc.constantFrom(true, false, 'x' as unknown as boolean), { maxKeys: 2 }),
        anyJson,
      ),
      { maxKeys: 3 },
    )
    .map((m) => JSON.stringify(m)),
  nastyString,
  fc.constantFrom('{', '[]', 'null', '{"name":"fz"', '{"name":{"fz":"yes"}}', '{"label":["a=b","=",""]}'),
);
