/**
 * The OCI bundle of a container start: its /etc files (hosts, hostname, resolv.conf, with what the
 * features contributed), the rootfs mounted from the image's layers, and config.json built from the
 * record (process, user, mounts, limits, namespace).
 *
 * Use: `await writeBundle(rec, etc, netnsPath, ctx)` after the endpoints joined and the hooks ran,
 * just before the runtime creates the container.
 * Beware: the rootfs stays mounted when a later step fails: the caller's rollback unmounts it.
 */
import { writeFile } from 'node:fs/promises';
import { hostname as osHostname } from 'node:os';
import { join } from 'node:path';
import type { ContainerRuntimeOps } from '../../host/index.js';
import { buildOciSpec, type HostLimits } from '../../runtime/index.js';
import type { Volumes } from '../../volumes/index.js';
import { strList } from './container-config.js';
import type { EtcContributions } from './container-hooks.js';
import { ociMounts } from './container-mounts.js';
import type { ContainerRecord } from './container-types.js';
import { writeEtcFiles } from './etc-files.js';
import { specSettings } from './host-config-spec.js';
import { consoleSize, resolveUser } from './process-settings.js';

export interface BundleContext {
  /** The image's layers, lowest first. */
  layers: string[];
  runtime: ContainerRuntimeOps;
  volumes?: Volumes;
  /** The engine host's resolv.conf, which the container's derives from. */
  resolvConfPath: string;
  /** The daemon's capability bounding set and open-files limit. */
  hostLimits: HostLimits;
  cgroupPath: string;
}

/** Writes /etc files, mounts the rootfs and writes config.json into the container's directory. */
export async function writeBundle(rec: ContainerRecord, etc: EtcContributions, netnsPath: string | 'host', ctx: BundleContext): Promise<void> {
  const cfg = rec.config;
  const tty = cfg.Tty === true;
  await writeEtcFiles(rec, etc, ctx.resolvConfPath);
  const rootfs = await ctx.runtime.mountRootfs(ctx.layers, rec.dir);
  const volumeMounts = ctx.volumes ? await ociMounts(rec.mounts ?? [], rootfs, ctx.volumes) : [];
  const { args, additionalGids, ...settings } = await specSettings(rec, rootfs, [rec.path, ...rec.args]);
  const user = await resolveUser(rootfs, String(cfg.User ?? ''));
  const spec = buildOciSpec({
    ...settings,
    mounts: [...(settings.mounts ?? []), ...volumeMounts],
    rootfs,
    args,
    env: [...(cfg.Env as string[]), ...etc.env, `HOSTNAME=${String(cfg.Hostname)}`, ...(tty ? ['TERM=xterm'] : [])],
    cwd: (cfg.WorkingDir as string) || '/',
    user: additionalGids.length ? { ...user, additionalGids } : user,
    tty,
    ...consoleSize(rec.hostConfig.ConsoleSize),
    hostname: rec.networkMode === 'host' ? osHostname() : String(cfg.Hostname),
    network: netnsPath === 'host' ? 'host' : { netnsPath },
    etcFiles: { hosts: rec.hostsPath, hostname: rec.hostnamePath, resolvConf: rec.resolvConfPath },
    cgroupsPath: ctx.cgroupPath,
    capAdd: strList(rec.hostConfig.CapAdd, 'CapAdd'),
    capDrop: strList(rec.hostConfig.CapDrop, 'CapDrop'),
    privileged: rec.hostConfig.Privileged === true,
    host: ctx.hostLimits,
  });
  await writeFile(join(rec.dir, 'config.json'), JSON.stringify(spec));
}
