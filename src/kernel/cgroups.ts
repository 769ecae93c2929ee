/**
 * Cgroup trees named after an instance: find the processes in them, thaw them, and remove them.
 *
 * Use: the container runtime gives runc `linux.cgroupsPath` `/<prefix>/<container-id>`, so runc
 * makes `/sys/fs/cgroup/<controller>/<prefix>/<id>` in every hierarchy. `removeCgroupTree(prefix)`
 * removes those directories, children first, once their processes are gone.
 *
 * Beware: this machine is cgroup v1 hybrid: one hierarchy per controller (plus name=systemd) and
 * cgroup2 at /sys/fs/cgroup/unified. A cgroup directory is removed with rmdir(2) even though it
 * lists files; it fails with EBUSY while a process or a child cgroup is in it. A process in a frozen
 * freezer cgroup does not die from SIGKILL until thawed.
 */
import { readdir, readFile, rmdir, writeFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';

export const CGROUP_ROOT = '/sys/fs/cgroup';

function checkName(name: string): void {
  if (!/^[A-Za-z0-9_][A-Za-z0-9_.-]*$/.test(name)) throw new Error(`invalid cgroup name "${name}"`);
}

/** The hierarchies mounted under /sys/fs/cgroup (v1 controllers, name=systemd, and unified). */
async function hierarchies(): Promise<string[]> {
  try {
    const entries = await readdir(CGROUP_ROOT, { withFileTypes: true });
    // Skip symlinks such as `cpu -> cpu,cpuacct`: the real directory is listed too.
    return entries.filter((e) => e.isDirectory()).map((e) => `${CGROUP_ROOT}/${e.name}`);
  } catch {
    return [];
  }
}

/** Every directory of the tree rooted at `dir`, children before their parent; [] when missing. */
async function treeChildrenFirst(dir: string): Promise<string[]> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return [];
  }
  const out: string[] = [];
  for (const e of entries) if (e.isDirectory()) out.push(...(await treeChildrenFirst(`${dir}/${e.name}`)));
  out.push(dir);
  return out;
}

/** Every cgroup directory named `name` (at the top of each hierarchy) and below, children first. */
export async function cgroupTreeDirs(name: string): Promise<string[]> {
  checkName(name);
  const out: string[] = [];
  for (const h of await hierarchies()) out.push(...(await treeChildrenFirst(`${h}/${name}`)));
  return out;
}

/** The processes in any cgroup of the trees named `name`, without duplicates. */
export async function cgroupTreePids(name: string): Promise<number[]> {
  const pids = new Set<number>();
  for (const dir of await cgroupTreeDirs(name)) {
    const text = await readFile(`${dir}/cgroup.procs`, 'utf8').catch(() => '');
    for (const line of text.split('\n')) if (/^\d+$/.test(line)) pids.add(Number(line));
  }
  return [...pids];
}

/** The names of the cgroups directly below the trees named `name`, over every hierarchy, without duplicates. */
export async function cgroupChildren(name: string): Promise<string[]> {
  checkName(name);
  const out = new Set<string>();
  for (const h of await hierarchies()) {
    const entries = await readdir(`${h}/${name}`, { withFileTypes: true }).catch(() => []);
    for (const e of entries) if (e.isDirectory()) out.add(e.name);
  }
  return [...out].sort();
}

/** Thaw every frozen cgroup of the freezer tree named `name`, so its processes can be killed. */
export async function thawCgroupTree(name: string): Promise<void> {
  checkName(name);
  for (const dir of await treeChildrenFirst(`${CGROUP_ROOT}/freezer/${name}`)) {
    await writeFile(`${dir}/freezer.state`, 'THAWED').catch(() => undefined);
  }
}

/**
 * Remove the cgroup trees named `name` in every hierarchy, children first. Missing trees are not an
 * error. A cgroup still busy right after its processes died is retried for up to `waitMs`. With
 * `child`, only the cgroup of that name right below the tree (one container's) and its children go.
 */
export async function removeCgroupTree(name: string, waitMs = 2_000, child?: string): Promise<void> {
  const deadline = Date.now() + waitMs;
  const failed: string[] = [];
  const dirs = await cgroupTreeDirs(name);
  if (child !== undefined) checkName(child);
  for (const dir of child === undefined ? dirs : dirs.filter((d) => d.endsWith(`/${name}/${child}`) || d.includes(`/${name}/${child}/`))) {
    for (;;) {
      try {
        await rmdir(dir);
        break;
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === 'ENOENT') break;
        // The kernel frees a cgroup shortly after its last task exits, hence the retry on EBUSY.
        if (code === 'EBUSY' && Date.now() < deadline) {
          await sleep(20);
          continue;
        }
        failed.push(`${dir} (${code ?? String(e)})`);
        break;
      }
    }
  }
  if (failed.length) throw new Error(`remove cgroup tree "${name}" failed: ${failed.join(', ')}`);
}
