/**
 * Builds runc's config.json for a container, the way Docker's daemon builds it (moby
 * `daemon/oci_linux.go` over `oci/defaults.go`): Docker's capabilities, mounts, masked paths,
 * device rules and a seccomp profile; the network namespace is given by path, cgroups by an
 * absolute path. `buildOciSpec` is pure: no I/O, same input, same object.
 *
 * Use: `writeFileSync(join(bundle, 'config.json'), JSON.stringify(buildOciSpec({...})))`.
 * Beware: the env gets Docker's daemon defaults (PATH, HOSTNAME, TERM=xterm with a tty) unless
 * given; capabilities are cut to those the daemon has (`host`, see host-limits.ts), since runc
 * cannot grant more; NoNewPrivileges is off by default, as in Docker (setuid binaries work). Seccomp
 * is Docker's allowlist (seccomp-profile.ts); an AppArmor profile is named only when `host` says the
 * kernel has AppArmor.
 */
import { invalidParameter } from '../util/index.js';
import type { HostLimits } from './host-limits.js';
import {
  ALL_CAPABILITIES, DEFAULT_CAPABILITIES, DEFAULT_DEVICE_RULES, MASKED_PATHS, PRIVATE_NETNS_SYSCTLS, READONLY_PATHS,
  defaultMounts, type OciDeviceRule, type OciMount,
} from './oci-defaults.js';
import { defaultSeccompProfile, loadSeccompProfile, type SeccompProfile } from './seccomp-profile.js';

export type { OciMount, OciDeviceRule };

export interface OciUser {
  uid: number;
  gid: number;
  additionalGids?: number[];
}

export interface OciProcess {
  terminal: boolean;
  consoleSize?: { height: number; width: number };
  user: OciUser;
  args: string[];
  env: string[];
  cwd: string;
  capabilities?: { bounding: string[]; effective: string[]; permitted: string[]; inheritable: string[] };
  rlimits?: { type: string; hard: number; soft: number }[];
  noNewPrivileges?: boolean;
  oomScoreAdj?: number;
  apparmorProfile?: string;
}

export interface OciDevice {
  path: string;
  type: 'c' | 'b';
  major: number;
  minor: number;
  fileMode?: number;
  uid?: number;
  gid?: number;
  /** Cgroup access (`--device A:B:rw`), rwm by default; not written into the spec's device list. */
  access?: string;
}

export interface OciResources {
  devices?: OciDeviceRule[];
  memory?: { limit?: number; reservation?: number; swap?: number; swappiness?: number; disableOOMKiller?: boolean };
  cpu?: { shares?: number; quota?: number; period?: number; cpus?: string; mems?: string };
  pids?: { limit: number };
}

export interface OciSpec {
  ociVersion: string;
  process: OciProcess;
  root: { path: string; readonly: boolean };
  hostname: string;
  domainname?: string;
  mounts: OciMount[];
  annotations?: Record<string, string>;
  linux: {
    namespaces: { type: string; path?: string }[];
    cgroupsPath: string;
    resources: OciResources;
    devices: OciDevice[];
    maskedPaths: string[];
    readonlyPaths: string[];
    sysctl?: Record<string, string>;
    seccomp?: SeccompProfile;
  };
}

export interface BindMount {
  source: string;
  destination: string;
  readonly?: boolean;
  /** Mount propagation, rprivate by default (as Docker). */
  propagation?: 'rprivate' | 'private' | 'rshared' | 'shared' | 'rslave' | 'slave';
}

export interface OciSpecInput {
  /** Absolute path of the root filesystem (the overlay mount). */
  rootfs: string;
  readonlyRootfs?: boolean;
  args: string[];
  env?: string[];
  cwd?: string;
  /** Resolved by the caller (image's /etc/passwd) or numeric; root by default. */
  user?: OciUser;
  tty?: boolean;
  consoleSize?: { height: number; width: number };
  hostname?: string;
  domainname?: string;
  /** A network namespace by path (/run/netns/NAME), or the daemon's own (`host`). */
  network: { netnsPath: string } | 'host';
  /** Namespaces shared with the daemon instead of made new. */
  hostNamespaces?: ('pid' | 'ipc' | 'uts')[];
  /** Generated files bound over the image's. */
  etcFiles?: { hosts?: string; hostname?: string; resolvConf?: string };
  binds?: BindMount[];
  /** More mounts (tmpfs, volumes), placed among the binds by depth. */
  mounts?: OciMount[];
  /** Replace Docker's masked and read-only /proc paths (`--security-opt systempaths=unconfined`: []). */
  maskedPaths?: string[];
  readonlyPaths?: string[];
  /** Extra device cgroup rules (`--device-cgroup-rule`). */
  deviceRules?: OciDeviceRule[];
  /** A cgroup namespace of its own (`--cgroupns private`). */
  cgroupNamespace?: boolean;
  annotations?: Record<string, string>;
  /** Absolute: /<prefix>/<container id>. */
  cgroupsPath: string;
  capAdd?: string[];
  capDrop?: string[];
  privileged?: boolean;
  noNewPrivileges?: boolean;
  /** Docker names: nofile, nproc, core, … */
  ulimits?: { name: string; soft: number; hard: number }[];
  sysctls?: Record<string, string>;
  /** Bytes of /dev/shm (64 MiB by default). */
  shmSize?: number;
  /** Docker's default profile, none, or a profile in Docker's JSON format (`--security-opt seccomp=FILE`). */
  seccomp?: 'default' | 'unconfined' | { json: string };
  /** `--security-opt apparmor=NAME`; the daemon's default (host.apparmorDefault) otherwise. */
  apparmor?: string;
  /** Device nodes to create (--device, or the host's for --privileged). */
  devices?: OciDevice[];
  resources?: Omit<OciResources, 'devices'>;
  oomScoreAdj?: number;
  host?: HostLimits;
}

const DEFAULT_PATH = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
const ULIMITS = ['as', 'core', 'cpu', 'data', 'fsize', 'locks', 'memlock', 'msgqueue', 'nice', 'nofile', 'nproc', 'rss', 'rtprio', 'rttime', 'sigpending', 'stack'];

/** Docker's CapAdd/CapDrop rules (moby oci/caps TweakCapabilities), then cut to what the host has. */
export function effectiveCapabilities(input: Pick<OciSpecInput, 'capAdd' | 'capDrop' | 'privileged' | 'host'>): string[] {
  const available = new Set(input.host?.capabilities ?? ALL_CAPABILITIES);
  const normalise = (caps: string[]): string[] =>
    caps.map((raw) => {
      const c = raw.toUpperCase();
      if (c === 'ALL') return c;
      const name = c.startsWith('CAP_') ? c : `CAP_${c}`;
      if (!ALL_CAPABILITIES.includes(name)) throw invalidParameter('oci.capability', `unknown capability: "${name}"`);
      return name;
    });
  let caps: string[];
  const add = normalise(input.capAdd ?? []);
  const drop = normalise(input.capDrop ?? []);
  if (input.privileged || add.includes('ALL')) caps = ALL_CAPABILITIES.filter((c) => input.privileged || !drop.includes(c));
  else if (drop.includes('ALL')) caps = add;
  else caps = [...DEFAULT_CAPABILITIES.filter((c) => !drop.includes(c)), ...add];
  return [...new Set(caps)].filter((c) => available.has(c));
}

/**
 * `base` with each KEY=value of `over` replacing its key in place, or appended; a bare KEY (no `=`)
 * removes the key (moby ReplaceOrAppendEnvValues): runc refuses an entry without `=`.
 */
export function replaceOrAppendEnv(base: readonly string[], over: readonly string[]): string[] {
  const env = [...base];
  for (const kv of over) {
    const key = kv.split('=', 1)[0];
    const at = env.findIndex((e) => e.split('=', 1)[0] === key);
    if (!kv.includes('=')) {
      if (at >= 0) env.splice(at, 1);
    } else if (at >= 0) env[at] = kv;
    else env.push(kv);
  }
  return env.filter((e) => e.includes('='));
}

/** Docker's daemon environment first, each key replaced in place by the container's own value. */
function buildEnv(input: OciSpecInput): string[] {
  const env = [DEFAULT_PATH];
  if (input.hostname) env.push(`HOSTNAME=${input.hostname}`);
  if (input.tty) env.push('TERM=xterm');
  return replaceOrAppendEnv(env, input.env ?? []);
}

function buildRlimits(input: OciSpecInput): { type: string; hard: number; soft: number }[] {
  const hostHard = input.host?.nofile.hard ?? 1_048_576;
  const byName = new Map<string, { soft: number; hard: number }>();
  byName.set('nofile', { soft: Math.min(1_048_576, hostHard), hard: Math.min(1_048_576, hostHard) });
  for (const u of input.ulimits ?? []) {
    if (!ULIMITS.includes(u.name)) throw invalidParameter('oci.ulimit', `invalid ulimit type: ${u.name}`);
    byName.set(u.name, { soft: u.soft, hard: u.hard });
  }
  return [...byName].map(([name, l]) => ({ type: `RLIMIT_${name.toUpperCase()}`, ...l }));
}

function buildMounts(input: OciSpecInput): OciMount[] {
  const privileged = input.privileged === true;
  const hostIpc = input.hostNamespaces?.includes('ipc') === true;
  const rwOpt = (ro: boolean | undefined): string => (ro ? 'ro' : 'rw');
  const extra: OciMount[] = (input.binds ?? []).map((b) => ({
    destination: b.destination,
    type: 'bind',
    source: b.source,
    options: ['rbind', b.propagation ?? 'rprivate', rwOpt(b.readonly)],
  }));
  extra.push(...(input.mounts ?? []));
  const etc = input.etcFiles ?? {};
  for (const [file, source] of [['hosts', etc.hosts], ['hostname', etc.hostname], ['resolv.conf', etc.resolvConf]]) {
    if (!source) continue;
    extra.push({ destination: `/etc/${file}`, type: 'bind', source, options: ['rbind', 'rprivate', rwOpt(input.readonlyRootfs)] });
  }
  if (hostIpc) extra.push({ destination: '/dev/shm', type: 'bind', source: '/dev/shm', options: ['rbind', 'rprivate', 'rw'] });
  for (const m of extra) {
    if (!m.destination.startsWith('/')) throw invalidParameter('oci.mount', `invalid mount config: mount path must be absolute: ${m.destination}`);
  }
  const taken = new Set(extra.map((m) => m.destination));
  const defaults = defaultMounts(privileged, input.shmSize ?? 64 * 1024 * 1024).filter((m) => !taken.has(m.destination));
  // A mount must come after any mount of a parent path, so sort by depth (stable otherwise).
  const depth = (m: OciMount): number => m.destination.split('/').filter(Boolean).length;
  return [...defaults, ...extra.sort((a, b) => depth(a) - depth(b))];
}

export function buildOciSpec(input: OciSpecInput): OciSpec {
  if (!input.cgroupsPath.startsWith('/')) {
    // A relative path makes runc nest the memory cgroup under the caller's (platform notes).
    throw invalidParameter('oci.cgroups_path', `cgroups path must be absolute: ${input.cgroupsPath}`);
  }
  if (input.args.length === 0) throw invalidParameter('oci.no_command', 'no command specified');
  const privileged = input.privileged === true;
  const caps = effectiveCapabilities(input);
  const shared = new Set(input.hostNamespaces ?? []);
  const namespaces: { type: string; path?: string }[] = ['pid', 'ipc', 'uts', 'mount']
    .filter((t) => t === 'mount' || !shared.has(t as 'pid' | 'ipc' | 'uts'))
    .map((type) => ({ type }));
  if (input.network !== 'host') namespaces.push({ type: 'network', path: input.network.netnsPath });
  if (input.cgroupNamespace) namespaces.push({ type: 'cgroup' });
  const deviceRules: OciDeviceRule[] = privileged
    ? [{ allow: true, access: 'rwm' }]
    : [
        ...DEFAULT_DEVICE_RULES,
        ...(input.devices ?? []).map((d) => ({ allow: true, type: d.type, major: d.major, minor: d.minor, access: d.access ?? 'rwm' })),
        ...(input.deviceRules ?? []),
      ];
  const sysctl = { ...(input.network !== 'host' ? PRIVATE_NETNS_SYSCTLS : {}), ...input.sysctls };
  const spec: OciSpec = {
    ociVersion: '1.0.2-dev',
    process: {
      terminal: input.tty === true,
      ...(input.consoleSize ? { consoleSize: input.consoleSize } : {}),
      user: input.user ?? { uid: 0, gid: 0 },
      args: input.args,
      env: buildEnv(input),
      cwd: input.cwd || '/',
      capabilities: { bounding: caps, effective: caps, permitted: caps, inheritable: [] },
      rlimits: buildRlimits(input),
      noNewPrivileges: input.noNewPrivileges === true,
      ...(input.oomScoreAdj !== undefined ? { oomScoreAdj: input.oomScoreAdj } : {}),
    },
    root: { path: input.rootfs, readonly: input.readonlyRootfs === true },
    hostname: shared.has('uts') ? '' : (input.hostname ?? ''), // runc refuses a hostname in the host's UTS
    ...(input.domainname ? { domainname: input.domainname } : {}),
    mounts: buildMounts(input),
    ...(input.annotations && Object.keys(input.annotations).length ? { annotations: input.annotations } : {}),
    linux: {
      namespaces,
      cgroupsPath: input.cgroupsPath,
      resources: { devices: deviceRules, ...input.resources },
      devices: (input.devices ?? []).map(({ access: _access, ...d }) => d),
      maskedPaths: privileged ? [] : [...(input.maskedPaths ?? MASKED_PATHS)],
      readonlyPaths: privileged ? [] : [...(input.readonlyPaths ?? READONLY_PATHS)],
      ...(Object.keys(sysctl).length ? { sysctl } : {}),
    },
  };
  // Docker: a given profile applies even to a privileged container; the default one does not.
  const seccomp = input.seccomp ?? 'default';
  if (typeof seccomp === 'object') {
    const custom = loadSeccompProfile(seccomp.json, caps);
    if (custom) spec.linux.seccomp = custom;
  } else if (!privileged && seccomp === 'default' && input.host?.seccomp !== false) spec.linux.seccomp = defaultSeccompProfile(caps);
  // Only a kernel with AppArmor gets a profile name (Docker's rule; runc refuses one otherwise).
  if (input.host?.apparmorDefault) {
    const profile = input.apparmor || (privileged ? 'unconfined' : input.host.apparmorDefault);
    spec.process.apparmorProfile = profile;
  }
  return spec;
}
