/**
 * HostConfig → runc: resource limits (memory, swap, CPU, cpuset, pids, OOM killer), ulimits,
 * devices, sysctls, namespaces shared with the host, security options, /dev/shm size, a read-only
 * root, supplementary groups, annotations and `--init` (tini). runc writes the limits into the cgroups
 * at create, so the kernel enforces what inspect shows.
 *
 * Use: `checkHostResources(hostConfig, ncpu)` at create (Docker's errors, Docker's derived values
 * such as MemorySwap = 2 × Memory) and `update`; `specSettings(rec, rootfs)` at start, spread into
 * buildOciSpec's input; `resourcesOf(hostConfig)` for `docker update`.
 * Beware: sysctls are validated by runc as in Docker (namespaced ones only; no net.* in the host's
 * network namespace); its message comes back in the "OCI runtime create failed" error.
 */
import { readFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { hostDevices, parseSecurityOptions, type OciDevice, type OciSpecInput, type OciDeviceRule, type OciMount } from '../../runtime/index.js';
import { invalidParameter } from '../../util/index.js';
import type { ContainerRecord } from './container-types.js';

type Obj = Record<string, unknown>;
const num = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? v : 0);
const str = (v: unknown): string => (typeof v === 'string' ? v : '');

/** The init Docker binds at /sbin/docker-init for `--init` (Debian's tini-static). */
export const INIT_BINARY = '/usr/bin/tini-static';
const INIT_PATH = '/sbin/docker-init';

/** `0-2,4` style CPU lists; undefined when malformed. */
export function parseCpuList(list: string): number[] | undefined {
  const out = new Set<number>();
  for (const part of list.split(',')) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part.trim());
    if (!m) return undefined;
    const a = Number(m[1]);
    const b = m[2] === undefined ? a : Number(m[2]);
    if (b < a) return undefined;
    for (let i = a; i <= b; i++) out.add(i);
  }
  return [...out];
}

/**
 * Docker's checks of the resource fields (daemon verifyPlatformContainerResources), with its texts,
 * and its derived values written back: MemorySwap 2 × Memory when unset, PidsLimit ≤ 0 → 0.
 */
export function checkHostResources(hc: Obj, ncpu = availableParallelism()): void {
  // Security options too, so a bad one (say, a seccomp profile that is not JSON) is a 400 at create.
  parseSecurityOptions(list(hc.SecurityOpt));
  const memory = num(hc.Memory);
  const swap = num(hc.MemorySwap);
  const reservation = num(hc.MemoryReservation);
  if (memory > 0 && memory < 6 * 1024 * 1024) throw invalidParameter('resources.memory', 'Minimum memory limit allowed is 6MB');
  if (swap > 0 && memory === 0) throw invalidParameter('resources.swap', 'You should always set the Memory limit when using Memoryswap limit, see usage');
  if (swap > 0 && swap < memory) throw invalidParameter('resources.swap', 'Minimum memoryswap limit should be larger than memory limit, see usage');
  if (memory > 0 && reservation > memory) throw invalidParameter('resources.reservation', 'Minimum memory limit can not be less than memory reservation limit, see usage');
  if (reservation > 0 && reservation < 6 * 1024 * 1024) throw invalidParameter('resources.reservation', 'Minimum memory reservation allowed is 6MB');
  const swappiness = hc.MemorySwappiness;
  if (typeof swappiness === 'number' && swappiness !== -1 && (swappiness < 0 || swappiness > 100)) {
    throw invalidParameter('resources.swappiness', `Invalid value: ${swappiness}, valid memory swappiness range is 0-100`);
  }
  const nano = num(hc.NanoCpus);
  if (nano !== 0 && num(hc.CpuPeriod) !== 0) throw invalidParameter('resources.cpus', 'Conflicting options: Nano CPUs and CPU Period cannot both be set');
  if (nano !== 0 && num(hc.CpuQuota) !== 0) throw invalidParameter('resources.cpus', 'Conflicting options: Nano CPUs and CPU Quota cannot both be set');
  if (nano < 0 || nano > ncpu * 1e9) {
    throw invalidParameter('resources.cpus', `Range of CPUs is from 0.01 to ${ncpu}.00, as there are only ${ncpu} CPUs available`);
  }
  const period = num(hc.CpuPeriod);
  if (period !== 0 && (period < 1000 || period > 1_000_000)) {
    throw invalidParameter('resources.cpu_period', 'CPU cfs period can not be less than 1ms (i.e. 1000) or larger than 1s (i.e. 1000000)');
  }
  const quota = num(hc.CpuQuota);
  if (quota > 0 && quota < 1000) throw invalidParameter('resources.cpu_quota', 'CPU cfs quota can not be less than 1ms (i.e. 1000)');
  for (const [field, what, max] of [['CpusetCpus', 'cpus', ncpu], ['CpusetMems', 'mems', 1]] as const) {
    const v = str(hc[field]);
    if (!v) continue;
    const list = parseCpuList(v);
    if (!list) throw invalidParameter('resources.cpuset', `Invalid value ${v} for cpuset ${what}`);
    if (list.some((c) => c >= max)) {
      const avail = max === 1 ? '0' : `0-${max - 1}`;
      throw invalidParameter('resources.cpuset', `Requested ${what === 'cpus' ? 'CPUs' : 'memory nodes'} are not available - requested ${v}, available: ${avail}`);
    }
  }
  if (memory > 0 && swap === 0) hc.MemorySwap = memory * 2;
  if (typeof hc.PidsLimit === 'number' && hc.PidsLimit < 0) hc.PidsLimit = 0;
}

export type Resources = NonNullable<OciSpecInput['resources']>;

/** The cgroup settings of a HostConfig, as runc takes them (create and `runc update`). */
export function resourcesOf(hc: Obj): Resources {
  const r: Resources = {};
  const memory: NonNullable<Resources['memory']> = {};
  if (num(hc.Memory) > 0) memory.limit = num(hc.Memory);
  if (num(hc.MemoryReservation) > 0) memory.reservation = num(hc.MemoryReservation);
  if (num(hc.MemorySwap) !== 0) memory.swap = num(hc.MemorySwap);
  if (typeof hc.MemorySwappiness === 'number' && hc.MemorySwappiness >= 0) memory.swappiness = hc.MemorySwappiness;
  if (hc.OomKillDisable === true) memory.disableOOMKiller = true;
  if (Object.keys(memory).length) r.memory = memory;
  const cpu: NonNullable<Resources['cpu']> = {};
  if (num(hc.CpuShares) > 0) cpu.shares = Math.max(2, num(hc.CpuShares));
  if (num(hc.NanoCpus) > 0) {
    cpu.period = 100_000;
    cpu.quota = Math.round((num(hc.NanoCpus) * 100_000) / 1e9);
  }
  if (num(hc.CpuPeriod) > 0) cpu.period = num(hc.CpuPeriod);
  if (num(hc.CpuQuota) !== 0) cpu.quota = num(hc.CpuQuota);
  if (str(hc.CpusetCpus)) cpu.cpus = str(hc.CpusetCpus);
  if (str(hc.CpusetMems)) cpu.mems = str(hc.CpusetMems);
  if (Object.keys(cpu).length) r.cpu = cpu;
  if (num(hc.PidsLimit) > 0) r.pids = { limit: num(hc.PidsLimit) };
  return r;
}

/** `c 1:3 rwm`, `b *:* m`, `a` (Docker's --device-cgroup-rule). */
export function parseDeviceRule(rule: string): OciDeviceRule {
  const m = /^([acb])(?: (\d+|\*):(\d+|\*) ([rwm]{1,3}))?$/.exec(rule.trim());
  if (!m) throw invalidParameter('device.rule', `invalid device cgroup format '${rule}'`);
  const n = (s: string | undefined): number | undefined => (s === undefined || s === '*' ? undefined : Number(s));
  const major = n(m[2]);
  const minor = n(m[3]);
  return { allow: true, type: m[1] as 'a' | 'c' | 'b', ...(major !== undefined ? { major } : {}), ...(minor !== undefined ? { minor } : {}), access: m[4] ?? 'rwm' };
}

/** `--group-add`: numbers, or names from the image's /etc/group (Docker's error otherwise). */
async function groupIds(rootfs: string, groups: string[]): Promise<number[]> {
  if (!groups.length) return [];
  const text = await readFile(join(rootfs, 'etc', 'group'), 'utf8').catch(() => '');
  const byName = new Map(text.split('\n').map((l) => l.split(':')).filter((p) => p.length >= 3).map((p) => [p[0] as string, Number(p[2])]));
  return groups.map((g) => {
    if (/^\d+$/.test(g)) return Number(g);
    const gid = byName.get(g);
    if (gid === undefined) throw invalidParameter('container.group_add', `Unable to find group ${g}: no matching entries in group file`);
    return gid;
  });
}

const list = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);

/** What a container's HostConfig adds to its runc spec; `args` is the command line (with --init's tini in front). */
export async function specSettings(rec: ContainerRecord, rootfs: string, args: string[]): Promise<Partial<OciSpecInput> & { args: string[]; additionalGids: number[] }> {
  const hc = rec.hostConfig;
  const out: Partial<OciSpecInput> & { args: string[]; additionalGids: number[] } = { args, additionalGids: [] };
  out.resources = resourcesOf(hc);
  const ulimits = Array.isArray(hc.Ulimits) ? (hc.Ulimits as Array<{ Name?: unknown; Soft?: unknown; Hard?: unknown }>) : [];
  out.ulimits = ulimits.map((u) => ({ name: str(u.Name), soft: num(u.Soft), hard: num(u.Hard) }));
  out.readonlyRootfs = hc.ReadonlyRootfs === true;
  if (num(hc.ShmSize) > 0) out.shmSize = num(hc.ShmSize);
  if (num(hc.OomScoreAdj) !== 0) {
    if (num(hc.OomScoreAdj) < -1000 || num(hc.OomScoreAdj) > 1000) throw invalidParameter('container.oom_score_adj', `Invalid value ${num(hc.OomScoreAdj)}, range for oom score adj is [-1000, 1000]`);
    out.oomScoreAdj = num(hc.OomScoreAdj);
  }
  const shared: Array<'pid' | 'ipc' | 'uts'> = [];
  if (hc.PidMode === 'host') shared.push('pid');
  if (hc.IpcMode === 'host') shared.push('ipc');
  if (hc.UTSMode === 'host') shared.push('uts');
  if (shared.length) out.hostNamespaces = shared;
  if (hc.CgroupnsMode === 'private') out.cgroupNamespace = true;
  const sec = parseSecurityOptions(list(hc.SecurityOpt));
  out.noNewPrivileges = sec.noNewPrivileges;
  out.seccomp = sec.seccomp;
  if (sec.apparmor) out.apparmor = sec.apparmor;
  if (Array.isArray(hc.MaskedPaths)) out.maskedPaths = list(hc.MaskedPaths);
  if (Array.isArray(hc.ReadonlyPaths)) out.readonlyPaths = list(hc.ReadonlyPaths);
  const devices: OciDevice[] = [];
  for (const d of Array.isArray(hc.Devices) ? (hc.Devices as Obj[]) : []) {
    const host = str(d.PathOnHost);
    devices.push(...(await hostDevices(host, str(d.PathInContainer) || host, str(d.CgroupPermissions) || 'rwm')));
  }
  if (devices.length) out.devices = devices;
  const rules = list(hc.DeviceCgroupRules).map(parseDeviceRule);
  if (rules.length) out.deviceRules = rules;
  const sysctls = hc.Sysctls && typeof hc.Sysctls === 'object' ? (hc.Sysctls as Record<string, string>) : {};
  if (Object.keys(sysctls).length) out.sysctls = Object.fromEntries(Object.entries(sysctls).map(([k, v]) => [k, String(v)]));
  if (hc.Annotations && typeof hc.Annotations === 'object') out.annotations = hc.Annotations as Record<string, string>;
  if (str(rec.config.Domainname)) out.domainname = str(rec.config.Domainname);
  out.additionalGids = await groupIds(rootfs, list(hc.GroupAdd));
  if (hc.Init === true) {
    const mount: OciMount = { destination: INIT_PATH, type: 'bind', source: INIT_BINARY, options: ['rbind', 'ro', 'rprivate'] };
    out.mounts = [mount];
    out.args = [INIT_PATH, '--', ...args];
  }
  return out;
}
