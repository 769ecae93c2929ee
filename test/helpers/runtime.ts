/**
 * Helpers for the runtime tests (not exported by index.ts): a busybox rootfs, a throwaway network
 * namespace, bundles, and a sweep that checks nothing with the test's prefix is left behind.
 *
 * Beware: everything a test makes carries its prefix (`rtt-<random>`): netns, runc root, cgroups,
 * temp dirs. `sweep` removes them and reports what it had to remove.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmdirSync, rmSync, statSync, copyFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { run } from '../../src/kernel/index.js';
import { randomBytes } from 'node:crypto';
import type { OciSpec } from '../../src/runtime/oci-spec.js';

export const canRunContainers = (): boolean =>
  process.getuid?.() === 0 && existsSync('/usr/sbin/runc') && existsSync('/bin/busybox');

/** dist/redes-shim, built from the C source when missing or older. */
export async function ensureShim(): Promise<void> {
  const root = fileURLToPath(new URL('../../../', import.meta.url));
  const bin = join(root, 'dist/redes-shim');
  const src = join(root, 'src/runtime/shim/redes-shim.c');
  if (existsSync(bin) && statSync(bin).mtimeMs >= statSync(src).mtimeMs) return;
  await run(['sh', join(root, 'scripts/build-shim.sh')], { timeoutMs: 120_000 });
}

export interface TestEnv {
  prefix: string;
  dir: string;
  rootfs: string;
  runcRoot: string;
  netns: string;
}

/** A prefix, a temp dir with a busybox rootfs, a runc root and a netns with lo up. */
export async function setupEnv(): Promise<TestEnv> {
  const prefix = `rtt-${randomBytes(3).toString('hex')}`;
  const dir = mkdtempSync(join(tmpdir(), `${prefix}-`));
  const rootfs = join(dir, 'rootfs');
  mkdirSync(join(rootfs, 'bin'), { recursive: true });
  mkdirSync(join(rootfs, 'etc'));
  copyFileSync('/bin/busybox', join(rootfs, 'bin/busybox'));
  await run(['chroot', rootfs, '/bin/busybox', '--install', '-s', '/bin']);
  const runcRoot = join(dir, 'runc');
  await run(['ip', 'netns', 'add', prefix]);
  await run(['ip', '-n', prefix, 'link', 'set', 'lo', 'up']);
  return { prefix, dir, rootfs, runcRoot, netns: prefix };
}

export function writeBundle(env: TestEnv, name: string, spec: OciSpec): { bundleDir: string; stateDir: string } {
  const bundleDir = join(env.dir, 'bundles', name);
  const stateDir = join(env.dir, 'state', name);
  mkdirSync(bundleDir, { recursive: true });
  writeFileSync(join(bundleDir, 'config.json'), JSON.stringify(spec));
  return { bundleDir, stateDir };
}

const cgroupRoots = (): string[] =>
  readdirSync('/sys/fs/cgroup').map((c) => join('/sys/fs/cgroup', c)).filter((p) => statSync(p).isDirectory());

/** Cgroup directories left under /<prefix> in any hierarchy. */
export function leftoverCgroups(prefix: string): string[] {
  return cgroupRoots().flatMap((root) => {
    const base = join(root, prefix);
    if (!existsSync(base)) return [];
    return readdirSync(base, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => join(base, d.name));
  });
}

/** Mounts whose path mentions the prefix (rootfs binds left by a failed runc). */
export function leftoverMounts(prefix: string): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter((l) => l.includes(prefix));
}

/** Removes all the test made; returns a list of what was still there besides the expected. */
export async function sweep(env: TestEnv): Promise<string[]> {
  const left: string[] = [];
  const list = await run(['runc', '--root', env.runcRoot, 'list', '-q'], { allowFailure: true });
  for (const id of list.stdout.split('\n').filter(Boolean)) {
    left.push(`runc container ${id}`);
    await run(['runc', '--root', env.runcRoot, 'delete', '--force', id], { allowFailure: true });
  }
  left.push(...leftoverCgroups(env.prefix).map((p) => `cgroup ${p}`));
  for (const root of cgroupRoots()) {
    const base = join(root, env.prefix);
    if (existsSync(base)) rmdirSync(base);
  }
  await run(['ip', 'netns', 'delete', env.netns], { allowFailure: true });
  left.push(...leftoverMounts(env.prefix).map((m) => `mount ${m}`));
  rmSync(env.dir, { recursive: true, force: true });
  return left;
}
