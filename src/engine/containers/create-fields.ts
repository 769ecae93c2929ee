/**
 * The rule of `POST /containers/create`: every field of Config, HostConfig and EndpointSettings is
 * either honoured for real or refused with a 400 that names it; nothing is accepted and dropped.
 * This file is the table (the source of truth for "what does redes do with field X") and the check
 * that enforces it on each request.
 *
 * Use: `checkCreateFields(body)` first thing at create; `FIELD_TABLES` for docs and the test that
 * walks the API's swagger definitions (create-fields.test.ts).
 * Beware: a field counts as "set" unless its value is one of the zero values clients send for
 * "unset" (null, false, 0, "", [], {}, or a per-field unset value such as MemorySwappiness -1). A
 * handled field may still refuse some values (`accepts`), e.g. IpcMode "container:x". A field the
 * table does not know is refused too when set: an unknown field cannot be honoured.
 */
import { invalidParameter } from '../../util/index.js';

/** What redes does with a field. */
export type FieldStatus =
  /** Honoured: the container behaves as Docker's would. */
  | 'handled'
  /** Filled by the engine (inspect output); ignored on input, as Docker ignores it. */
  | 'output'
  /** Used by the client only (the CLI reads it); the daemon has nothing to do, as in Docker. */
  | 'client'
  /** Not supported: a request that sets it fails with 400 naming the field. */
  | 'refused';

export interface FieldRule {
  status: FieldStatus;
  /** How it is honoured, or why it is refused. */
  note: string;
  /** Values (beyond the generic zero values) that mean "unset". */
  unset?: readonly unknown[];
  /** For a handled field: the reason a particular value is refused, or undefined when accepted. */
  accepts?: (value: unknown) => string | undefined;
}

const h = (note: string, more: Partial<FieldRule> = {}): FieldRule => ({ status: 'handled', note, ...more });
const refused = (note: string, more: Partial<FieldRule> = {}): FieldRule => ({ status: 'refused', note, ...more });
const output = (note = 'set by the engine, shown by inspect; ignored on input as Docker does'): FieldRule => ({ status: 'output', note });

/** Accepts only the listed string values ('' always means "default"). */
function oneOf(values: readonly string[], what: string): (v: unknown) => string | undefined {
  return (v) => (typeof v === 'string' && (v === '' || values.includes(v)) ? undefined : `${what} ${JSON.stringify(v)} is not supported (supported: ${values.join(', ')})`);
}

/** The endpoint driver option redes applies (endpoint-extras.ts): sysctls of the container's interface. */
export const ENDPOINT_SYSCTLS = 'com.docker.network.endpoint.sysctls';

/**
 * Endpoint driver options: free keys are kept and shown (Docker passes them to the driver, whose
 * bridge ignores what it does not know); the sysctls option is applied to the interface; Docker's
 * other `com.docker.network.endpoint.*` options (ifname) would change the interface and are refused by name.
 */
function endpointDriverOpts(v: unknown): string | undefined {
  const own = Object.keys((v ?? {}) as object).find((k) => k.startsWith('com.docker.network.endpoint.') && k !== ENDPOINT_SYSCTLS);
  return own ? `the endpoint driver option ${JSON.stringify(own)} is not supported` : undefined;
}

/** `Config` (Docker's ContainerConfig): the top level of the create body. */
export const CONFIG_FIELDS: Record<string, FieldRule> = {
  Hostname: h('the container\'s UTS hostname, /etc/hostname and /etc/hosts'),
  Domainname: h('the UTS domain name and the /etc/hosts entry'),
  User: h('uid:gid or names resolved in the image\'s /etc/passwd and /etc/group'),
  AttachStdin: h('the CLI attaches before start'),
  AttachStdout: h('the CLI attaches before start'),
  AttachStderr: h('the CLI attaches before start'),
  ExposedPorts: h('shown in ps/inspect; published by -P; links and ICC rules'),
  Tty: h('a pseudo-terminal held by the shim'),
  OpenStdin: h('stdin kept open by the shim'),
  StdinOnce: h('stdin closed after the first attach ends'),
  Env: h('merged over the image\'s environment'),
  Cmd: h('merged with the image\'s Entrypoint/Cmd as dockerd does'),
  Healthcheck: h('probes exec\'d in the container with Docker\'s states, log and events; NONE disables the image\'s'),
  ArgsEscaped: refused('Windows only'),
  Image: h('resolved in the image store'),
  Volumes: h('anonymous volumes (local driver), filled from the image on first use'),
  WorkingDir: h('the process\'s working directory'),
  Entrypoint: h('merged with the image\'s as dockerd does'),
  NetworkDisabled: refused('use --network none'),
  MacAddress: h('API < 1.44: the MAC of the first endpoint'),
  OnBuild: h('stored and shown (image metadata; it has no effect on a container, as in Docker)'),
  Labels: h('merged over the image\'s labels; filters'),
  StopSignal: h('docker stop\'s first signal'),
  StopTimeout: h('docker stop\'s grace period'),
  Shell: h('stored and shown (image metadata; it has no effect on a container, as in Docker)'),
};

/** `HostConfig`, including the `Resources` it embeds. */
export const HOST_CONFIG_FIELDS: Record<string, FieldRule> = {
  CpuShares: h('cpu.shares of the container\'s cgroup'),
  Memory: h('memory.limit_in_bytes (Docker\'s minimum 6MB)'),
  CgroupParent: refused('containers live under /<prefix>/<id> in every hierarchy'),
  BlkioWeight: refused('block I/O weights are not supported'),
  BlkioWeightDevice: refused('block I/O weights are not supported'),
  BlkioDeviceReadBps: refused('block I/O throttling is not supported'),
  BlkioDeviceWriteBps: refused('block I/O throttling is not supported'),
  BlkioDeviceReadIOps: refused('block I/O throttling is not supported'),
  BlkioDeviceWriteIOps: refused('block I/O throttling is not supported'),
  CpuPeriod: h('cpu.cfs_period_us'),
  CpuQuota: h('cpu.cfs_quota_us'),
  CpuRealtimePeriod: refused('real-time CPU scheduling is not supported'),
  CpuRealtimeRuntime: refused('real-time CPU scheduling is not supported'),
  CpusetCpus: h('cpuset.cpus (checked against the CPUs present)'),
  CpusetMems: h('cpuset.mems'),
  Devices: h('device nodes created in the container and allowed in the devices cgroup'),
  DeviceCgroupRules: h('extra rules of the devices cgroup'),
  DeviceRequests: refused('device requests (GPUs) are not supported'),
  KernelMemoryTCP: refused('kernel TCP memory limits are not supported (deprecated in Docker)'),
  MemoryReservation: h('memory.soft_limit_in_bytes'),
  MemorySwap: h('memory.memsw.limit_in_bytes (2 × Memory when unset, as Docker)'),
  MemorySwappiness: h('memory.swappiness', { unset: [-1] }),
  NanoCpus: h('cpu.cfs_quota_us over a 100 ms period'),
  OomKillDisable: h('memory.oom_control'),
  Init: h('tini (Debian\'s tini-static) bound at /sbin/docker-init as PID 1'),
  PidsLimit: h('pids.max', { unset: [-1] }),
  Ulimits: h('the process\'s rlimits'),
  CpuCount: refused('Windows only'),
  CpuPercent: refused('Windows only'),
  IOMaximumIOps: refused('Windows only'),
  IOMaximumBandwidth: refused('Windows only'),
  Binds: h('-v binds (ro, propagation; a missing host directory is created) and named volumes'),
  ContainerIDFile: { status: 'client', note: 'the CLI writes the file itself' },
  LogConfig: h('json-file and local (rotated by the shim: max-size, max-file), none; the daemon\'s --log-opt merged in (log-config.ts)'),
  NetworkMode: h('bridge, host, none, container:<id> or a network'),
  PortBindings: h('nftables DNAT, host ports reserved'),
  RestartPolicy: h('executed by the daemon with Docker\'s back-off, also after a daemon restart', {
    unset: [{ Name: 'no', MaximumRetryCount: 0 }, { Name: '', MaximumRetryCount: 0 }, { Name: 'no' }, { Name: '' }],
  }),
  AutoRemove: h('the container is removed when it exits'),
  VolumeDriver: h('local only', { accepts: oneOf(['local'], 'volume driver') }),
  VolumesFrom: h('the other container\'s binds and volumes, ro/rw'),
  Mounts: h('--mount bind (propagation, non-recursive, create mountpoint), volume (nocopy, subpath), tmpfs (size, mode); other types and options refused by name'),
  ConsoleSize: h('the initial size of the pseudo-terminal'),
  Annotations: h('OCI annotations of the runc spec'),
  CapAdd: h('Docker\'s capability rules, cut to what the daemon has'),
  CapDrop: h('Docker\'s capability rules'),
  CgroupnsMode: h('host (the default on cgroup v1) or a private cgroup namespace', { accepts: oneOf(['host', 'private'], 'cgroup namespace mode') }),
  Dns: h('/etc/resolv.conf or the embedded DNS\'s upstreams'),
  DnsOptions: h('/etc/resolv.conf options'),
  DnsSearch: h('/etc/resolv.conf search list'),
  ExtraHosts: h('/etc/hosts lines'),
  GroupAdd: h('supplementary groups (numbers or names from the image\'s /etc/group)'),
  IpcMode: h('a private IPC namespace, or the host\'s', { accepts: oneOf(['private', 'shareable', 'host'], 'IPC mode') }),
  Cgroup: refused('joining another container\'s cgroup is not supported'),
  Links: h('legacy links: /etc/hosts, environment, ICC rules'),
  OomScoreAdj: h('the process\'s oom_score_adj'),
  PidMode: h('a private PID namespace, or the host\'s', { accepts: oneOf(['host'], 'PID mode') }),
  Privileged: h('all capabilities and devices, no seccomp, no masked paths'),
  PublishAllPorts: h('every exposed port on an ephemeral host port'),
  ReadonlyRootfs: h('the root filesystem mounted read-only (volumes and tmpfs stay writable)'),
  SecurityOpt: h('no-new-privileges, seccomp=unconfined|builtin|profile JSON, apparmor=PROFILE, label=disable; others refused by value'),
  StorageOpt: refused('storage options are not supported'),
  Tmpfs: h('tmpfs mounts with their options (nosuid, nodev, noexec by default)'),
  UTSMode: h('a private UTS namespace, or the host\'s', { accepts: oneOf(['host'], 'UTS mode') }),
  UsernsMode: h('no user namespace (as Docker without userns-remap)', { accepts: oneOf(['host'], 'user namespace mode') }),
  ShmSize: h('size of the /dev/shm tmpfs'),
  Sysctls: h('written by runc, which enforces Docker\'s namespaced list'),
  Runtime: h('runc', { accepts: oneOf(['runc'], 'runtime') }),
  Isolation: h('Linux namespaces', { accepts: oneOf(['default'], 'isolation') }),
  MaskedPaths: h('replaces Docker\'s masked /proc paths'),
  ReadonlyPaths: h('replaces Docker\'s read-only /proc paths'),
};

/** `NetworkingConfig.EndpointsConfig[network]` (EndpointSettings). */
export const ENDPOINT_FIELDS: Record<string, FieldRule> = {
  IPAMConfig: h('--ip, --ip6 (see IPAM_CONFIG_FIELDS)'),
  Links: h('legacy links on a user network'),
  MacAddress: h('the endpoint\'s MAC'),
  Aliases: h('names in the embedded DNS'),
  DriverOpts: h('kept with the endpoint and shown by inspect (the bridge ignores keys it does not know, as Docker\'s); com.docker.network.endpoint.sysctls applied to the interface', { accepts: endpointDriverOpts }),
  GwPriority: refused('gateway priorities are not supported'),
  NetworkID: output(),
  EndpointID: output(),
  Gateway: output(),
  IPAddress: output(),
  IPPrefixLen: output(),
  IPv6Gateway: output(),
  GlobalIPv6Address: output(),
  GlobalIPv6PrefixLen: output(),
  DNSNames: output(),
};

/** `EndpointSettings.IPAMConfig`. */
export const IPAM_CONFIG_FIELDS: Record<string, FieldRule> = {
  IPv4Address: h('the endpoint\'s fixed IPv4 address'),
  IPv6Address: h('the endpoint\'s fixed IPv6 address'),
  LinkLocalIPs: h('extra addresses on the endpoint\'s interface (/16 IPv4, /64 IPv6)'),
};

export const FIELD_TABLES = {
  Config: CONFIG_FIELDS,
  HostConfig: HOST_CONFIG_FIELDS,
  EndpointSettings: ENDPOINT_FIELDS,
  EndpointIPAMConfig: IPAM_CONFIG_FIELDS,
} as const;

/** The zero values clients send for a field they leave unset. */
export function isZero(v: unknown): boolean {
  if (v === undefined || v === null || v === false || v === 0 || v === '') return true;
  if (Array.isArray(v)) return v.length === 0 || v.every((x) => x === 0);
  if (typeof v === 'object') return Object.keys(v as object).length === 0;
  return false;
}

function sameJson(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** The reason a field's value is refused, or undefined when it is unset or honoured. */
export function refusal(rule: FieldRule | undefined, value: unknown): string | undefined {
  if (isZero(value) || rule?.unset?.some((u) => sameJson(u, value))) return undefined;
  if (!rule) return 'unknown field';
  if (rule.status === 'refused') return rule.note;
  if (rule.status === 'handled') return rule.accepts?.(value);
  return undefined;
}

function checkObject(where: string, obj: unknown, table: Record<string, FieldRule>, skip: readonly string[] = []): void {
  if (!obj || typeof obj !== 'object' || Array.isArray(obj)) return;
  for (const [k, v] of Object.entries(obj as Record<string, unknown>)) {
    if (skip.includes(k)) continue;
    const why = refusal(table[k], v);
    if (why) throw invalidParameter('container.unsupported_field', `${where}${k} is not supported by this engine: ${why}`);
  }
}

/** Refuses (400, naming the field) any field of a create body that is set but not honoured. */
export function checkCreateFields(body: Record<string, unknown>): void {
  checkObject('Config.', body, CONFIG_FIELDS, ['HostConfig', 'NetworkingConfig']);
  checkObject('HostConfig.', body.HostConfig, HOST_CONFIG_FIELDS);
  const eps = (body.NetworkingConfig as { EndpointsConfig?: unknown } | null | undefined)?.EndpointsConfig;
  if (eps && typeof eps === 'object') {
    for (const [net, ep] of Object.entries(eps as Record<string, unknown>)) checkEndpointFields(ep, net);
  }
}

/** The same rule for one EndpointSettings (create, and `POST /networks/{id}/connect`). */
export function checkEndpointFields(ep: unknown, network: string): void {
  checkObject(`EndpointsConfig[${JSON.stringify(network)}].`, ep, ENDPOINT_FIELDS, ['IPAMConfig']);
  checkObject(`EndpointsConfig[${JSON.stringify(network)}].IPAMConfig.`, (ep as { IPAMConfig?: unknown } | null)?.IPAMConfig, IPAM_CONFIG_FIELDS);
}
