/**
 * Seccomp for containers, as Docker does it: an allowlist. Docker's default profile is data
 * (seccomp/docker-default.json, Docker 28's own file, provenance in seccomp/README.md); this module
 * turns a profile in Docker's format (an `archMap`, and rules with `includes`/`excludes` on
 * capabilities, architectures and kernel versions) into the OCI `linux.seccomp` runc takes, for one
 * container's capabilities on this machine's architecture and kernel. The same code loads a
 * `--security-opt seccomp=FILE` profile (the docker CLI sends the file's JSON).
 *
 * Use: `defaultSeccompProfile(caps)`; `loadSeccompProfile(json, caps)` (throws Docker's
 * "Decoding seccomp profile failed: ..." on bad JSON).
 *
 * Beware: rules are chosen by the container's bounding capabilities (Docker's rule: every cap of an
 * `includes` must be held, any cap of an `excludes` drops the rule). Syscall names unknown to runc's
 * libseccomp are skipped by runc; everything not allowed fails with EPERM (clone3 with ENOSYS, so
 * libc falls back to clone, whose namespace flags seccomp can see).
 */
import { readFileSync } from 'node:fs';
import { release } from 'node:os';
import { fileURLToPath } from 'node:url';
import { invalidParameter } from '../util/index.js';

export interface SeccompArg {
  index: number;
  value: number;
  valueTwo?: number;
  op: string;
}

/** One rule of the OCI profile. */
export interface SeccompRule {
  names: string[];
  action: string;
  errnoRet?: number;
  args?: SeccompArg[];
}

/** The OCI `linux.seccomp` object. */
export interface SeccompProfile {
  defaultAction: string;
  defaultErrnoRet?: number;
  architectures?: string[];
  flags?: string[];
  listenerPath?: string;
  syscalls?: SeccompRule[];
}

interface Filter {
  caps?: string[];
  arches?: string[];
  minKernel?: string;
}

/** A rule in Docker's profile format. */
interface DockerRule extends SeccompRule {
  name?: string;
  comment?: string;
  includes?: Filter;
  excludes?: Filter;
}

/** A profile in Docker's format (moby/profiles/seccomp). */
export interface DockerSeccomp extends Omit<SeccompProfile, 'syscalls'> {
  archMap?: Array<{ architecture: string; subArchitectures: string[] | null }>;
  syscalls?: DockerRule[];
}

const DATA = fileURLToPath(new URL('../../../src/runtime/seccomp/docker-default.json', import.meta.url));

/** Node's arch → the name Docker's profile uses (libseccomp's) and its SCMP_ARCH_ constant. */
const ARCHES: Record<string, { native: string; scmp: string }> = {
  x64: { native: 'amd64', scmp: 'SCMP_ARCH_X86_64' },
  ia32: { native: 'x86', scmp: 'SCMP_ARCH_X86' },
  arm64: { native: 'arm64', scmp: 'SCMP_ARCH_AARCH64' },
  arm: { native: 'arm', scmp: 'SCMP_ARCH_ARM' },
  ppc64: { native: 'ppc64le', scmp: 'SCMP_ARCH_PPC64LE' },
  s390x: { native: 's390x', scmp: 'SCMP_ARCH_S390X' },
  riscv64: { native: 'riscv64', scmp: 'SCMP_ARCH_RISCV64' },
};

export interface SeccompContext {
  /** Node's `process.arch`. */
  arch?: string;
  /** `uname -r`, e.g. "6.1.0-18-amd64". */
  kernel?: string;
}

/** `a.b` of a kernel release is at least `min` ("4.8"). */
function kernelAtLeast(kernel: string, min: string): boolean {
  const [a = 0, b = 0] = kernel.split(/[.-]/).map(Number);
  const [x = 0, y = 0] = min.split('.').map(Number);
  return a > x || (a === x && b >= y);
}

/** Docker's setupSeccomp: the OCI profile `profile` gives a process with these bounding capabilities. */
export function resolveSeccomp(profile: DockerSeccomp, capabilities: readonly string[], ctx: SeccompContext = {}): SeccompProfile | undefined {
  if (!profile.defaultAction && !profile.syscalls?.length) return undefined;
  if (profile.architectures?.length && profile.archMap?.length) {
    throw invalidParameter('seccomp.profile', "both 'architectures' and 'archMap' are specified in the seccomp profile, use either 'architectures' or 'archMap'");
  }
  const arch = ARCHES[ctx.arch ?? process.arch];
  const kernel = ctx.kernel ?? release();
  const caps = new Set(capabilities);
  const { archMap, syscalls, ...common } = profile;
  const out: SeccompProfile = { ...common, syscalls: [] };
  const mapped = archMap?.find((a) => a.architecture === arch?.scmp);
  if (mapped) out.architectures = [mapped.architecture, ...(mapped.subArchitectures ?? [])];
  for (const rule of syscalls ?? []) {
    const { name, comment: _comment, includes: inc, excludes: exc, ...call } = rule;
    if (name) {
      if (call.names?.length) throw invalidParameter('seccomp.profile', "both 'name' and 'names' are specified in the seccomp profile, use either 'name' or 'names'");
      call.names = [name];
    }
    if (exc?.arches?.length && arch && exc.arches.includes(arch.native)) continue;
    if (exc?.caps?.some((c) => caps.has(c))) continue;
    if (exc?.minKernel && kernelAtLeast(kernel, exc.minKernel)) continue;
    if (inc?.arches?.length && !(arch && inc.arches.includes(arch.native))) continue;
    if (inc?.caps?.length && !inc.caps.every((c) => caps.has(c))) continue;
    if (inc?.minKernel && !kernelAtLeast(kernel, inc.minKernel)) continue;
    out.syscalls?.push(call);
  }
  return out;
}

let cached: DockerSeccomp | undefined;

/** Docker's default profile (data file) for a container with these (CAP_-prefixed) capabilities. */
export function defaultSeccompProfile(capabilities: readonly string[], ctx: SeccompContext = {}): SeccompProfile {
  cached ??= JSON.parse(readFileSync(DATA, 'utf8')) as DockerSeccomp;
  return resolveSeccomp(cached, capabilities, ctx) as SeccompProfile;
}

/** A `--security-opt seccomp=<json>` profile; undefined when it disables seccomp (no default action, no rules). */
export function loadSeccompProfile(json: string, capabilities: readonly string[], ctx: SeccompContext = {}): SeccompProfile | undefined {
  let profile: unknown;
  try {
    profile = JSON.parse(json);
  } catch (e) {
    throw invalidParameter('seccomp.profile', `Decoding seccomp profile failed: ${(e as Error).message}`);
  }
  if (!profile || typeof profile !== 'object' || Array.isArray(profile)) {
    throw invalidParameter('seccomp.profile', 'Decoding seccomp profile failed: the profile is not a JSON object');
  }
  return resolveSeccomp(profile as DockerSeccomp, capabilities, ctx);
}
