/**
 * Which mounts a container's `runc create` may run without: its private mount namespace (the shim's
 * --detach-mount / --keep-mount, see shim/redes-shim.c) drops every mount below the detached
 * directories (the daemon's containers directory and /run/netns: one rootfs and one netns file per
 * container of the machine) and keeps, cloned back onto their paths, those this container's spec
 * names: its rootfs, the network namespace it joins (its own, or another container's), the sources
 * of its bind mounts.
 *
 * With the daemon's template namespace (mount-template.ts) the shim starts from that instead, where
 * everything made since the template is missing: the paths kept are then those of the spec that the
 * template sees otherwise than the daemon does (templateKeepRoot).
 *
 * Use: `const plan = await privateMountPlan(detachDirs, specHostPaths(spec), template?.root)`; no
 * plan (undefined) means runc runs in the daemon's namespace, as before.
 * Beware: a bind source that contains a detached directory (`-v /run:/x`, `-v /:/host`) would see
 * it emptied, so such a container gets no private namespace at all; one below it is kept.
 */
import { statSync, type Stats } from 'node:fs';
import { realpath, stat } from 'node:fs/promises';
import { posix } from 'node:path';
import type { OciSpec } from './oci-spec.js';

export interface PrivateMountPlan {
  /** Paths cloned before the detach and put back after it, parents first. */
  keep: string[];
  /** Directories detached with everything below them. */
  detach: string[];
}

/** As many paths as the shim takes (MAX_PATHS): more binds than that run without a private namespace. */
const MAX_PATHS = 64;

/** Host paths runc opens for a spec: the rootfs, the network namespace's file, the bind sources. */
export function specHostPaths(spec: Pick<OciSpec, 'root' | 'mounts' | 'linux'>): string[] {
  const paths = [spec.root.path];
  for (const ns of spec.linux.namespaces) if (ns.path) paths.push(ns.path);
  for (const m of spec.mounts) {
    if (m.source && (m.type === 'bind' || m.options?.some((o) => o === 'bind' || o === 'rbind'))) paths.push(m.source);
  }
  return paths;
}

/** A parent is shorter than its descendants: sorted by length, a kept tree goes back before what lies in it. */
const parentsFirst = (a: string, b: string): number => a.length - b.length || (a < b ? -1 : 1);

const within = (p: string, dir: string): boolean => p === dir || p.startsWith(dir === '/' ? '/' : `${dir}/`);

/** The plan for absolute, symlink-free `needed` paths; undefined when one contains a detached directory. */
export function planPrivateMounts(detach: readonly string[], needed: readonly string[]): PrivateMountPlan | undefined {
  if (detach.length === 0) return undefined;
  const keep = new Set<string>();
  for (const raw of needed) {
    const p = posix.normalize(raw).replace(/(.)\/+$/, '$1'); // no trailing slash: `/run/netns/` is `/run/netns`
    if (detach.some((d) => within(d, p))) return undefined;
    if (detach.some((d) => within(p, d))) keep.add(p);
  }
  if (keep.size > MAX_PATHS) return undefined;
  return { keep: [...keep].sort(parentsFirst), detach: [...detach] };
}

/**
 * The path to keep for `p` below the detached `dir`: the first directory on the way down that is
 * another filesystem (a rootfs overlay, a netns file), whose clone holds `p` and whose mount point
 * exists beneath the detached tree; else `p` itself, which lies on the directory's own filesystem.
 * A bind into another container's rootfs (`-v <containers>/<id>/rootfs/etc:/x`) thus keeps that
 * rootfs: its `etc` does not exist beneath, where nothing is mounted.
 */
async function keepRoot(p: string, dir: string): Promise<string> {
  const base = await stat(dir).catch(() => undefined);
  if (!base) return p;
  let cur = dir;
  for (const part of posix.relative(dir, p).split('/')) {
    cur = posix.join(cur, part);
    const s = await stat(cur).catch(() => undefined);
    if (!s) return p;
    if (s.dev !== base.dev) return cur;
  }
  return p;
}

const sameFile = (a: Stats | undefined, b: Stats | undefined): boolean => !!a && !!b && a.dev === b.dev && a.ino === b.ino;

/**
 * With a template namespace (mount-template.ts), whose view of the machine's files is `templateRoot`:
 * the first directory on the way down to `p` that the template sees otherwise than we do (a mount
 * made since the template, or one detached there: a rootfs, a netns file, a volume mounted later),
 * whose clone brings our view of `p` along; undefined when both see the same `p` (nothing to keep).
 */
export function templateKeepRoot(p: string, templateRoot: string): string | undefined {
  // The template's /proc is the machine's (a process's namespace files, --ipc container:X), and its
  // inode numbers are made afresh when the kernel drops them: no stat can tell views apart there.
  if (p === '/proc' || p.startsWith('/proc/')) return undefined;
  let cur = '/';
  for (const part of p.split('/').filter(Boolean)) {
    cur = posix.join(cur, part);
    const ours = statSync(cur, { throwIfNoEntry: false });
    if (!ours) return undefined; // missing here too: runc says so, as without a private namespace
    if (!sameFile(ours, statSync(`${templateRoot}${cur}`, { throwIfNoEntry: false }))) return cur;
  }
  return undefined;
}

/**
 * planPrivateMounts over the real paths of `needed` (a path that does not exist is taken as written).
 * With `templateRoot`, the paths kept are those the template sees otherwise than we do.
 */
export async function privateMountPlan(detach: readonly string[], needed: readonly string[], templateRoot?: string): Promise<PrivateMountPlan | undefined> {
  if (detach.length === 0) return undefined;
  const real = await Promise.all(needed.map((raw) => realpath(raw).catch(() => posix.resolve(raw))));
  if (templateRoot) {
    const plan = planPrivateMounts(detach, real); // a path holding a detached directory: no private namespace
    if (!plan) return undefined;
    const keep = new Set(real.flatMap((p) => templateKeepRoot(p, templateRoot) ?? []));
    if (keep.size > MAX_PATHS) return undefined;
    return { keep: [...keep].sort(parentsFirst), detach: plan.detach };
  }
  const roots = await Promise.all(
    real.map((p) => {
      const dir = detach.find((d) => p.startsWith(`${d}/`));
      return dir ? keepRoot(p, dir) : p;
    }),
  );
  return planPrivateMounts(detach, roots);
}
