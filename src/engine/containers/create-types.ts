/**
 * JSON types of a `POST /containers/create` body, as dockerd's decoding into its Go structs enforces
 * them: a field of the wrong type is a 400 naming the field, never accepted and dropped (`Env` as a
 * string, `PortBindings` as a string, `EndpointsConfig` as a list...). Also the values that must be
 * well formed before anything is stored: MAC addresses, the hostname.
 *
 * Use: `checkCreateTypes(body)` before any other look at the body (container-config.ts).
 * Beware: `Cmd`, `Entrypoint` and `Shell` are Docker's StrSlice: a string means a one-item list.
 */
import { invalidParameter } from '../../util/index.js';

type Kind = 'string' | 'bool' | 'int' | 'strings' | 'strslice' | 'strmap' | 'object' | 'ports' | 'endpoints';

const CONFIG: Record<string, Kind> = {
  Hostname: 'string', Domainname: 'string', User: 'string', Image: 'string', WorkingDir: 'string', StopSignal: 'string',
  MacAddress: 'string', AttachStdin: 'bool', AttachStdout: 'bool', AttachStderr: 'bool', Tty: 'bool', OpenStdin: 'bool',
  StdinOnce: 'bool', NetworkDisabled: 'bool', ArgsEscaped: 'bool', Env: 'strings', Cmd: 'strslice', Entrypoint: 'strslice',
  Shell: 'strslice', OnBuild: 'strings', ExposedPorts: 'object', Volumes: 'object', Labels: 'strmap', StopTimeout: 'int',
  Healthcheck: 'object', HostConfig: 'object', NetworkingConfig: 'object',
};

const HOST_CONFIG: Record<string, Kind> = {
  NetworkMode: 'string', IpcMode: 'string', PidMode: 'string', UTSMode: 'string', UsernsMode: 'string', CgroupnsMode: 'string',
  CgroupParent: 'string', Cgroup: 'string', Runtime: 'string', ContainerIDFile: 'string', VolumeDriver: 'string',
  Isolation: 'string', PortBindings: 'ports', Links: 'strings', Dns: 'strings', DnsSearch: 'strings', DnsOptions: 'strings',
  ExtraHosts: 'strings', CapAdd: 'strslice', CapDrop: 'strslice', SecurityOpt: 'strings', Binds: 'strings',
  VolumesFrom: 'strings', GroupAdd: 'strings', MaskedPaths: 'strings', ReadonlyPaths: 'strings', Privileged: 'bool',
  PublishAllPorts: 'bool', AutoRemove: 'bool', ReadonlyRootfs: 'bool', Init: 'bool', OomKillDisable: 'bool',
  RestartPolicy: 'object', LogConfig: 'object', Sysctls: 'strmap', StorageOpt: 'strmap', Tmpfs: 'strmap', Annotations: 'strmap',
  Memory: 'int', MemorySwap: 'int', MemoryReservation: 'int', NanoCpus: 'int', CpuShares: 'int', CpuPeriod: 'int',
  CpuQuota: 'int', PidsLimit: 'int', ShmSize: 'int', OomScoreAdj: 'int',
};

const ENDPOINT: Record<string, Kind> = {
  IPAMConfig: 'object', Links: 'strings', Aliases: 'strings', MacAddress: 'string', DriverOpts: 'strmap', NetworkID: 'string',
  EndpointID: 'string', Gateway: 'string', IPAddress: 'string', IPv6Gateway: 'string', GlobalIPv6Address: 'string', DNSNames: 'strings',
};

const IPAM_CONFIG: Record<string, Kind> = { IPv4Address: 'string', IPv6Address: 'string', LinkLocalIPs: 'strings' };

const WHAT: Record<Kind, string> = {
  string: 'a string', bool: 'a boolean', int: 'an integer', strings: 'a list of strings', strslice: 'a string or a list of strings',
  strmap: 'an object of strings', object: 'an object', ports: 'an object of port binding lists', endpoints: 'an object of endpoint settings',
};

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const isStrings = (v: unknown): boolean => Array.isArray(v) && v.every((x) => typeof x === 'string');

function fits(kind: Kind, v: unknown): boolean {
  switch (kind) {
    case 'string': return typeof v === 'string';
    case 'bool': return typeof v === 'boolean';
    case 'int': return typeof v === 'number' && Number.isSafeInteger(v);
    case 'strings': return isStrings(v);
    case 'strslice': return typeof v === 'string' || isStrings(v);
    case 'strmap': return isObj(v) && Object.values(v).every((x) => typeof x === 'string');
    case 'object': return isObj(v);
    case 'ports': return isObj(v) && Object.values(v).every((l) => l === null || (Array.isArray(l) && l.every(isPortBinding)));
    case 'endpoints': return isObj(v) && Object.values(v).every((e) => e === null || isObj(e));
  }
}

function isPortBinding(b: unknown): boolean {
  return isObj(b) && (b.HostIp === undefined || typeof b.HostIp === 'string') && (b.HostPort === undefined || typeof b.HostPort === 'string');
}

function checkFields(o: Obj, table: Record<string, Kind>, prefix: string): void {
  for (const [k, kind] of Object.entries(table)) {
    const v = o[k];
    if (v === undefined || v === null) continue;
    if (!fits(kind, v)) throw invalidParameter('api.field_type', `invalid JSON: field ${prefix}${k} must be ${WHAT[kind]}`);
  }
}

const MAC = /^([0-9a-fA-F]{2}:){5}[0-9a-fA-F]{2}$/;

export function checkMac(mac: unknown): void {
  if (typeof mac === 'string' && mac !== '' && !MAC.test(mac)) throw invalidParameter('container.mac', `invalid MAC address: ${mac}`);
}

/** An endpoint's settings (create's EndpointsConfig entries, connect's EndpointConfig). */
export function checkEndpointTypes(v: unknown, prefix: string): void {
  if (v === undefined || v === null) return;
  if (!isObj(v)) throw invalidParameter('api.field_type', `invalid JSON: field ${prefix} must be an object`);
  checkFields(v, ENDPOINT, `${prefix}.`);
  if (isObj(v.IPAMConfig)) checkFields(v.IPAMConfig, IPAM_CONFIG, `${prefix}.IPAMConfig.`);
  checkMac(v.MacAddress);
}

/**
 * Environment entries runc can set: a name before any `=`, no NUL byte (a bare NAME, or '', unsets
 * it, as Docker reads it). runc's refusal would come at start, as a 500.
 */
export function checkEnv(env: unknown, field = 'Env'): void {
  if (!Array.isArray(env)) return;
  for (const kv of env) {
    if (typeof kv === 'string' && (kv.startsWith('=') || kv.includes('\0'))) {
      throw invalidParameter('container.env', `invalid environment variable in ${field}: ${JSON.stringify(kv.slice(0, 64))}`);
    }
  }
}

/** Docker's check of Config.WorkingDir (moby verifyContainerSettings): absolute or empty. */
export function checkWorkingDir(dir: unknown): void {
  if (typeof dir === 'string' && dir !== '' && !dir.startsWith('/')) {
    throw invalidParameter('container.working_dir', `the working directory '${dir}' is invalid, it needs to be an absolute path`);
  }
}

const EXEC: Record<string, Kind> = {
  Cmd: 'strslice', Env: 'strings', User: 'string', WorkingDir: 'string', DetachKeys: 'string', Tty: 'bool',
  AttachStdin: 'bool', AttachStdout: 'bool', AttachStderr: 'bool', Privileged: 'bool', Detach: 'bool',
};

/** `POST /containers/{id}/exec` (Docker's ExecOptions): the same rules as create's. */
export function checkExecTypes(body: Obj): void {
  checkFields(body, EXEC, '');
  const size = body.ConsoleSize;
  if (size !== undefined && size !== null && !(Array.isArray(size) && size.length === 2 && size.every((n) => Number.isSafeInteger(n) && (n as number) >= 0))) {
    throw invalidParameter('api.field_type', 'invalid JSON: field ConsoleSize must be a list of two unsigned integers');
  }
  checkEnv(body.Env);
  checkWorkingDir(body.WorkingDir);
}

export function checkCreateTypes(body: Obj): void {
  checkFields(body, CONFIG, '');
  checkMac(body.MacAddress);
  checkEnv(body.Env);
  checkWorkingDir(body.WorkingDir);
  // Linux's limit (HOST_NAME_MAX); runc fails on a longer one, after everything else was made.
  if (typeof body.Hostname === 'string' && body.Hostname.length > 64) {
    throw invalidParameter('container.hostname', `invalid hostname ${JSON.stringify(body.Hostname.slice(0, 16))}...: longer than 64 characters`);
  }
  if (isObj(body.HostConfig)) checkFields(body.HostConfig, HOST_CONFIG, 'HostConfig.');
  if (isObj(body.NetworkingConfig)) {
    checkFields(body.NetworkingConfig, { EndpointsConfig: 'endpoints' }, 'NetworkingConfig.');
    const eps = body.NetworkingConfig.EndpointsConfig;
    if (isObj(eps)) for (const [name, ep] of Object.entries(eps)) checkEndpointTypes(ep, `NetworkingConfig.EndpointsConfig.${name}`);
  }
}
