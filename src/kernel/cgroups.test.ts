import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, stat, writeFile } from 'node:fs/promises';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { killPids, pidAlive } from './process.js';
import { CGROUP_ROOT, cgroupTreeDirs, cgroupTreePids, removeCgroupTree, thawCgroupTree } from './cgroups.js';

const exists = (p: string): Promise<boolean> => stat(p).then(() => true, () => false);

function sleeper(): number {
  const child = spawn('sleep', ['30'], { stdio: 'ignore', detached: true });
  child.unref();
  return child.pid ?? 0;
}

test('names that could escape the cgroup root are refused', async () => {
  for (const bad of ['', '..', 'a/b', '/x']) await assert.rejects(cgroupTreeDirs(bad), /invalid cgroup name/);
});

test('a cgroup tree in several hierarchies is listed children first, its processes found and removed', async (t) => {
  const name = `rtcg${randomBytes(4).toString('hex')}`;
  const pids: number[] = [];
  t.after(async () => {
    await killPids(pids).catch(() => undefined);
    await removeCgroupTree(name).catch(() => undefined);
  });
  await mkdir(`${CGROUP_ROOT}/pids/${name}/c1/c2`, { recursive: true });
  await mkdir(`${CGROUP_ROOT}/memory/${name}/c1`, { recursive: true });
  await mkdir(`${CGROUP_ROOT}/unified/${name}`, { recursive: true });
  const dirs = await cgroupTreeDirs(name);
  assert.ok(dirs.indexOf(`${CGROUP_ROOT}/pids/${name}/c1/c2`) < dirs.indexOf(`${CGROUP_ROOT}/pids/${name}/c1`));
  assert.ok(dirs.indexOf(`${CGROUP_ROOT}/pids/${name}/c1`) < dirs.indexOf(`${CGROUP_ROOT}/pids/${name}`));
  assert.ok(dirs.includes(`${CGROUP_ROOT}/unified/${name}`));

  const pid = sleeper();
  pids.push(pid);
  await writeFile(`${CGROUP_ROOT}/pids/${name}/c1/c2/cgroup.procs`, String(pid));
  assert.deepEqual(await cgroupTreePids(name), [pid]);
  await assert.rejects(removeCgroupTree(name, 50), /EBUSY/);

  await killPids(await cgroupTreePids(name));
  await removeCgroupTree(name);
  assert.deepEqual(await cgroupTreeDirs(name), []);
  for (const h of ['pids', 'memory', 'unified']) assert.equal(await exists(`${CGROUP_ROOT}/${h}/${name}`), false);
  await removeCgroupTree(name); // a missing tree is fine
});

test('a frozen process is thawed so it can be killed', async (t) => {
  const name = `rtcg${randomBytes(4).toString('hex')}`;
  const pid = sleeper();
  t.after(async () => {
    await thawCgroupTree(name);
    await killPids([pid]).catch(() => undefined);
    await removeCgroupTree(name).catch(() => undefined);
  });
  await mkdir(`${CGROUP_ROOT}/freezer/${name}/c1`, { recursive: true });
  await writeFile(`${CGROUP_ROOT}/freezer/${name}/c1/cgroup.procs`, String(pid));
  await writeFile(`${CGROUP_ROOT}/freezer/${name}/c1/freezer.state`, 'FROZEN');
  await thawCgroupTree(name);
  await killPids([pid], 2_000);
  assert.equal(await pidAlive(pid), false);
  await removeCgroupTree(name);
});
