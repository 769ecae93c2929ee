/**
 * The JSON shapes of containers and execs in the Engine API (v1.50 `ContainerInspectResponse`,
 * `ContainerSummary`, `ExecInspectResponse`, and a network's `Containers` map), made from the
 * engine's records by pure functions (the clock is a parameter).
 *
 * Use: `containerInspectView(rec, networksById, extras)` for `GET /containers/{id}/json`,
 * `containerSummaryView(rec, now)` for `GET /containers/json`.
 * Beware: the legacy top-level address fields of NetworkSettings describe only the endpoint on the
 * default `bridge` network (empty otherwise), as in Docker 28; a container sharing another's
 * namespace (`container:<id>`) shows no networks of its own.
 */
import { type ContainerRecord, type ContainerState, type EndpointRecord, type ExecRecord, type NetworkRecord, mountsView } from '../../engine/index.js';
import { ownSet, ZERO_TIME } from '../../util/index.js';
import { parseDetachKeys } from '../stream-framing.js';
import type { NetworkContainerView } from './network.js';

export interface PortBinding {
  HostIp: string;
  HostPort: string;
}
/** `"80/tcp"` → bindings, or null for a port that is exposed but not published. */
export type PortMap = Record<string, PortBinding[] | null>;

/** What the record does not carry; the engine may supply it. */
export interface ContainerViewExtras {
  /** Running execs of the container (Docker's `ExecIDs`). */
  execIds?: string[];
  /** Actual published ports (with ephemeral host ports resolved); derived from the config if absent. */
  ports?: PortMap;
}

/**
 * Docker 28's values for fields a stored HostConfig may lack, so that CLI templates such as
 * `{{.HostConfig.RestartPolicy.Name}}` or `{{.HostConfig.LogConfig.Type}}` always find them.
 */
function hostConfigDefaults(): Record<string, unknown> {
  const zero = (keys: string[], v: unknown): Record<string, unknown> => Object.fromEntries(keys.map((k) => [k, v]));
  return {
    ...zero(['Binds', 'VolumesFrom', 'CapAdd', 'CapDrop', 'Dns', 'DnsOptions', 'DnsSearch', 'ExtraHosts', 'GroupAdd', 'Links', 'SecurityOpt'], null),
    ContainerIDFile: '',
    LogConfig: { Type: 'json-file', Config: {} },
    NetworkMode: 'bridge',
    PortBindings: {},
    RestartPolicy: { Name: 'no', MaximumRetryCount: 0 },
    AutoRemove: false,
    VolumeDriver: '',
    ConsoleSize: [0, 0],
    CgroupnsMode: 'host',
    IpcMode: 'private',
    ...zero(['Cgroup', 'PidMode', 'UTSMode', 'UsernsMode', 'Isolation', 'CgroupParent', 'CpusetCpus', 'CpusetMems'], ''),
    ...zero(['Privileged', 'PublishAllPorts', 'ReadonlyRootfs'], false),
    ShmSize: 67108864,
    Runtime: 'runc',
    ...zero(['OomScoreAdj', 'CpuShares', 'Memory', 'NanoCpus', 'BlkioWeight', 'CpuPeriod', 'CpuQuota', 'CpuRealtimePeriod', 'CpuRealtimeRuntime'], 0),
    ...zero(['BlkioWeightDevice', 'BlkioDeviceReadBps', 'BlkioDeviceWriteBps', 'BlkioDeviceReadIOps', 'BlkioDeviceWriteIOps', 'Devices', 'DeviceCgroupRules', 'DeviceRequests'], null),
    ...zero(['MemoryReservation', 'MemorySwap', 'CpuCount', 'CpuPercent', 'IOMaximumIOps', 'IOMaximumBandwidth'], 0),
    ...zero(['MemorySwappiness', 'OomKillDisable', 'PidsLimit', 'Ulimits', 'MaskedPaths', 'ReadonlyPaths'], null),
  };
}

/**
 * The stored HostConfig over Docker's defaults. Values the CLI sends as "unset" (empty log driver,
 * restart policy, IPC and cgroup-namespace modes, runtime, a 0 shm size, swappiness -1, pids limit
 * 0) are shown as dockerd shows them after create.
 */
export function hostConfigView(stored: Record<string, unknown>, networkMode: string): Record<string, unknown> {
  const out: Record<string, unknown> = { ...hostConfigDefaults(), ...stored, NetworkMode: networkMode };
  const logConfig = out.LogConfig as { Type?: string; Config?: unknown } | null;
  if (!logConfig?.Type) out.LogConfig = { Type: 'json-file', Config: logConfig?.Config ?? {} };
  const restart = out.RestartPolicy as { Name?: string; MaximumRetryCount?: number } | null;
  if (!restart?.Name) out.RestartPolicy = { Name: 'no', MaximumRetryCount: restart?.MaximumRetryCount ?? 0 };
  for (const [k, v] of [['IpcMode', 'private'], ['CgroupnsMode', 'host'], ['Runtime', 'runc']] as const) if (!out[k]) out[k] = v;
  if (!out.ShmSize) out.ShmSize = 67108864;
  if (out.MemorySwappiness === -1) out.MemorySwappiness = null;
  if (out.PidsLimit === 0) out.PidsLimit = null;
  return out;
}

function configDefaults(id: string): Record<string, unknown> {
  return {
    Hostname: id.slice(0, 12),
    Domainname: '',
    User: '',
    AttachStdin: false,
    AttachStdout: false,
    AttachStderr: false,
    Tty: false,
    OpenStdin: false,
    StdinOnce: false,
    Env: null,
    Cmd: null,
    Image: '',
    Volumes: null,
    WorkingDir: '',
    Entrypoint: null,
    OnBuild: null,
    Labels: {},
  };
}

const LIVE: ReadonlySet<string> = new Set(['running', 'paused', 'restarting']);

/** The status Docker shows: a frozen running container is "paused". */
export function shownStatus(state: ContainerState): ContainerState['status'] {
  return state.paused && state.status === 'running' ? 'paused' : state.status;
}

export function isLive(state: ContainerState): boolean {
  return LIVE.has(state.status);
}

/** Milliseconds since the epoch of an RFC 3339 time (any fraction length); null for Go's zero time. */
export function parseTime(value: string): number | null {
  if (!value || value === ZERO_TIME || value.startsWith('0001-01-01')) return null;
  const m = /^([^.]+?)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)$/.exec(value);
  const t = m ? Date.parse(`${m[1]}.${(m[2] ?? '').padEnd(3, '0').slice(0, 3)}${m[3]}`) : Date.parse(value);
  return Number.isNaN(t) ? null : t;
}

/** docker/go-units HumanDuration: "Less than a second", "1 second", "About a minute", "3 hours", … */
export function humanDuration(ms: number): string {
  const seconds = Math.trunc(ms / 1000);
  if (seconds < 1) return 'Less than a second';
  if (seconds === 1) return '1 second';
  if (seconds < 60) return `${seconds} seconds`;
  const minutes = Math.trunc(seconds / 60);
  if (minutes === 1) return 'About a minute';
  if (minutes < 60) return `${minutes} minutes`;
  const hours = Math.trunc(ms / 3_600_000 + 0.5);
  if (hours === 1) return 'About an hour';
  if (hours < 48) return `${hours} hours`;
  if (hours < 24 * 7 * 2) return `${Math.trunc(hours / 24)} days`;
  if (hours < 24 * 30 * 2) return `${Math.trunc(hours / 24 / 7)} weeks`;
  if (hours < 24 * 365 * 2) return `${Math.trunc(hours / 24 / 30)} months`;
  return `${Math.trunc(ms / 3_600_000 / 24 / 365)} years`;
}

/** The `Status` column of `docker ps`: "Up 3 seconds", "Exited (0) 2 minutes ago", "Created". */
export function statusText(state: ContainerState, now: number): string {
  const since = (t: string): string => humanDuration(Math.max(0, now - (parseTime(t) ?? now)));
  switch (shownStatus(state)) {
    case 'running': {
      const h = state.health?.Status;
      return `Up ${since(state.startedAt)}${h ? ` (${h === 'starting' ? 'health: starting' : h})` : ''}`;
    }
    case 'paused':
      return `Up ${since(state.startedAt)} (Paused)`;
    case 'restarting':
      return `Restarting (${state.exitCode}) ${since(state.finishedAt)} ago`;
    case 'removing':
      return 'Removal In Progress';
    case 'dead':
      return 'Dead';
  }
  if (parseTime(state.startedAt) === null) return 'Created';
  if (parseTime(state.finishedAt) === null) return '';
  return `Exited (${state.exitCode}) ${since(state.finishedAt)} ago`;
}

function stateView(s: ContainerState): Record<string, unknown> {
  return {
    Status: shownStatus(s),
    Running: isLive(s),
    Paused: shownStatus(s) === 'paused',
    Restarting: s.status === 'restarting',
    OOMKilled: s.oomKilled,
    Dead: s.status === 'dead',
    Pid: s.pid,
    ExitCode: s.exitCode,
    Error: s.error,
    StartedAt: s.startedAt || ZERO_TIME,
    FinishedAt: s.finishedAt || ZERO_TIME,
    ...(s.health ? { Health: s.health } : {}),
  };
}

const orNull = <T>(list: T[]): T[] | null => (list.length ? list : null);

/** One `EndpointSettings` (inspect, list, and the summary all use this shape). */
export function endpointSettingsView(ep: EndpointRecord): Record<string, unknown> {
  const ipam: Record<string, string | string[]> = {};
  if (ep.ipamConfig.ipv4Address) ipam.IPv4Address = ep.ipamConfig.ipv4Address;
  if (ep.ipamConfig.ipv6Address) ipam.IPv6Address = ep.ipamConfig.ipv6Address;
  if (ep.ipamConfig.linkLocalIps?.length) ipam.LinkLocalIPs = ep.ipamConfig.linkLocalIps;
  return {
    IPAMConfig: Object.keys(ipam).length ? ipam : null,
    Links: orNull(ep.links),
    Aliases: orNull(ep.aliases),
    MacAddress: ep.macAddress,
    DriverOpts: ep.driverOpts && Object.keys(ep.driverOpts).length ? ep.driverOpts : null,
    GwPriority: 0,
    NetworkID: ep.networkId,
    EndpointID: ep.endpointId,
    Gateway: ep.ipv4Gateway,
    IPAddress: ep.ipv4Address,
    IPPrefixLen: ep.ipv4PrefixLen,
    IPv6Gateway: ep.ipv6Gateway,
    GlobalIPv6Address: ep.ipv6Address,
    GlobalIPv6PrefixLen: ep.ipv6PrefixLen,
    DNSNames: orNull(ep.dnsNames),
  };
}

function networksView(rec: ContainerRecord): Record<string, Record<string, unknown>> {
  if (rec.networkMode.startsWith('container:')) return {};
  const out: Record<string, Record<string, unknown>> = {};
  // The engine's own endpoint on docker_gwbridge is not one of the container's networks (as Docker).
  for (const [name, ep] of Object.entries(rec.endpoints)) if (!ep.sandboxGateway) ownSet(out, name, endpointSettingsView(ep));
  return out;
}

/**
 * Published ports as Docker shows them while the container runs: every exposed or bound port,
 * with its bindings or null. A binding without a fixed host port is left out (only the engine
 * knows the port it picked; pass `extras.ports`).
 */
export function derivePorts(rec: ContainerRecord): PortMap {
  if (!isLive(rec.state)) return {};
  const out: PortMap = {};
  const exposed = rec.config.ExposedPorts;
  if (exposed && typeof exposed === 'object') for (const k of Object.keys(exposed)) out[k] = null;
  const bindings = rec.hostConfig.PortBindings;
  if (bindings && typeof bindings === 'object') {
    for (const [k, list] of Object.entries(bindings as Record<string, unknown>)) {
      const fixed = (Array.isArray(list) ? list : [])
        .map((b) => b as Partial<PortBinding>)
        .filter((b) => typeof b.HostPort === 'string' && b.HostPort !== '')
        .map((b) => ({ HostIp: b.HostIp || '0.0.0.0', HostPort: b.HostPort as string }));
      out[k] = fixed.length ? fixed : (out[k] ?? null);
    }
  }
  return out;
}

/** The default bridge endpoint, which Docker also shows in NetworkSettings' legacy top-level fields. */
function defaultBridge(rec: ContainerRecord, networksById: ReadonlyMap<string, NetworkRecord>): EndpointRecord | undefined {
  const ep = rec.endpoints.bridge;
  if (!ep || rec.networkMode.startsWith('container:')) return undefined;
  const n = networksById.get(ep.networkId);
  return !n || n.predefined ? ep : undefined;
}

export function networkSettingsView(rec: ContainerRecord, networksById: ReadonlyMap<string, NetworkRecord>, ports?: PortMap): Record<string, unknown> {
  const live = isLive(rec.state) && rec.netns !== '';
  const b = defaultBridge(rec, networksById);
  return {
    Bridge: '',
    SandboxID: live ? rec.netns : '',
    SandboxKey: live ? `/run/netns/${rec.netns}` : '',
    Ports: ports ?? derivePorts(rec),
    HairpinMode: false,
    LinkLocalIPv6Address: '',
    LinkLocalIPv6PrefixLen: 0,
    SecondaryIPAddresses: null,
    SecondaryIPv6Addresses: null,
    EndpointID: b?.endpointId ?? '',
    Gateway: b?.ipv4Gateway ?? '',
    GlobalIPv6Address: b?.ipv6Address ?? '',
    GlobalIPv6PrefixLen: b?.ipv6PrefixLen ?? 0,
    IPAddress: b?.ipv4Address ?? '',
    IPPrefixLen: b?.ipv4PrefixLen ?? 0,
    IPv6Gateway: b?.ipv6Gateway ?? '',
    MacAddress: b?.macAddress ?? '',
    Networks: networksView(rec),
  };
}

export function containerInspectView(
  rec: ContainerRecord,
  networksById: ReadonlyMap<string, NetworkRecord>,
  extras: ContainerViewExtras = {},
): Record<string, unknown> {
  return {
    Id: rec.id,
    Created: rec.created,
    Path: rec.path,
    Args: rec.args,
    State: stateView(rec.state),
    Image: rec.image,
    ResolvConfPath: rec.resolvConfPath,
    HostnamePath: rec.hostnamePath,
    HostsPath: rec.hostsPath,
    LogPath: rec.logPath,
    Name: `/${rec.name}`,
    RestartCount: rec.restartCount,
    Driver: 'overlay2',
    Platform: 'linux',
    MountLabel: '',
    ProcessLabel: '',
    AppArmorProfile: '',
    ExecIDs: extras.execIds?.length ? extras.execIds : null,
    HostConfig: hostConfigView(rec.hostConfig, rec.networkMode),
    GraphDriver: { Data: null, Name: 'overlay2' },
    Mounts: mountsView(rec.mounts),
    Config: { ...configDefaults(rec.id), Image: rec.imageRef, ...rec.config },
    NetworkSettings: networkSettingsView(rec, networksById, extras.ports),
  };
}

/** `Command` of `docker ps`: path and args, an arg with a space in single quotes (as dockerd). */
export function commandText(path: string, args: string[]): string {
  if (args.length === 0) return path;
  return `${path} ${args.map((a) => (a.includes(' ') ? `'${a}'` : a)).join(' ')}`;
}

/** `Ports` of `docker ps`, from the same port map as inspect. */
export function portSummary(ports: PortMap): Array<Record<string, unknown>> {
  const out: Array<Record<string, unknown>> = [];
  for (const [key, bindings] of Object.entries(ports)) {
    const [num = '0', proto = 'tcp'] = key.split('/');
    const privatePort = Number(num.split('-')[0]);
    if (!bindings || bindings.length === 0) {
      out.push({ PrivatePort: privatePort, Type: proto });
      continue;
    }
    for (const b of bindings) {
      out.push({ IP: b.HostIp, PrivatePort: privatePort, PublicPort: Number(b.HostPort.split('-')[0]), Type: proto });
    }
  }
  return out;
}

export function containerSummaryView(rec: ContainerRecord, now: number = Date.now(), extras: ContainerViewExtras = {}): Record<string, unknown> {
  const created = parseTime(rec.created);
  const labels = rec.config.Labels;
  return {
    Id: rec.id,
    Names: [`/${rec.name}`],
    Image: rec.imageRef || rec.image,
    ImageID: rec.image,
    Command: commandText(rec.path, rec.args),
    Created: created === null ? 0 : Math.floor(created / 1000),
    Ports: portSummary(extras.ports ?? derivePorts(rec)),
    Labels: labels && typeof labels === 'object' ? labels : {},
    State: shownStatus(rec.state),
    Status: statusText(rec.state, now),
    HostConfig: { NetworkMode: rec.networkMode },
    NetworkSettings: { Networks: networksView(rec) },
    Mounts: mountsView(rec.mounts),
  };
}

/** `GET /exec/{id}/json`. DetachKeys is base64 of the key bytes (a Go []byte), "" when unset. */
export function execInspectView(e: ExecRecord): Record<string, unknown> {
  let keys = '';
  try {
    keys = e.detachKeys ? parseDetachKeys(e.detachKeys).toString('base64') : '';
  } catch {
    keys = '';
  }
  const processConfig: Record<string, unknown> = { tty: e.tty, entrypoint: e.entrypoint, arguments: e.arguments, privileged: e.privileged };
  if (e.user) processConfig.user = e.user;
  return {
    ID: e.id,
    Running: e.running,
    ExitCode: e.exitCode,
    ProcessConfig: processConfig,
    OpenStdin: e.openStdin,
    OpenStderr: e.openStderr,
    OpenStdout: e.openStdout,
    CanRemove: e.canRemove,
    ContainerID: e.containerId,
    DetachKeys: keys,
    Pid: e.pid,
  };
}

/** The `Containers` map of network inspect: running endpoints only (a stopped one has no EndpointID). */
export function networkContainersView(entries: Array<{ container: ContainerRecord; endpoint: EndpointRecord }>): Record<string, NetworkContainerView> {
  const out: Record<string, NetworkContainerView> = {};
  for (const { container, endpoint: ep } of entries) {
    if (!ep.endpointId) continue;
    out[container.id] = {
      // Docker names a container's endpoint on docker_gwbridge gateway_<12 hex of the container id>.
      Name: ep.sandboxGateway ? `gateway_${container.id.slice(0, 12)}` : container.name,
      EndpointID: ep.endpointId,
      MacAddress: ep.macAddress,
      IPv4Address: ep.ipv4Address ? `${ep.ipv4Address}/${ep.ipv4PrefixLen}` : '',
      IPv6Address: ep.ipv6Address ? `${ep.ipv6Address}/${ep.ipv6PrefixLen}` : '',
    };
  }
  return out;
}
